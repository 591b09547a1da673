package backupkit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestNewS3StoreValidates(t *testing.T) {
	c := newFakeS3(t)
	tests := []struct {
		name   string
		client *minio.Client
		bucket string
		opts   []S3Option
		ok     bool
	}{
		{"defaults", c, "backups", nil, true},
		{"options", c, "backups", []S3Option{WithPartSize(8 << 20), WithPartConcurrency(2)}, true},
		{"nil client", nil, "backups", nil, false},
		{"no bucket", c, "", nil, false},
		{"small part", c, "backups", []S3Option{WithPartSize(1 << 20)}, false},
		{"negative part", c, "backups", []S3Option{WithPartSize(-1)}, false},
		{"zero threads", c, "backups", []S3Option{WithPartConcurrency(-3)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewS3Store(tt.client, tt.bucket, tt.opts...)
			if (err == nil) != tt.ok {
				t.Fatalf("NewS3Store(%s) = %v; want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

// storeContract checks the behaviour every Store must have.
func storeContract(t *testing.T, s Store, big int) {
	ctx := context.Background()
	data := testData(big)

	// A committed upload is visible and reads back whole.
	up, err := s.Create(ctx, "a/one.backup")
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 100 << 10 {
		if _, err := up.Write(data[off:min(off+100<<10, len(data))]); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if objs, _ := s.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("List before Commit = %v; want nothing", objs)
	}
	if err := up.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := up.Commit(); err == nil {
		t.Fatal("second Commit succeeded")
	}
	if _, err := up.Write([]byte("x")); err == nil {
		t.Fatal("Write after Commit succeeded")
	}
	rc, err := s.Open(ctx, "a/one.backup")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v; want the %d written", len(got), err, len(data))
	}

	// An aborted upload leaves nothing.
	up, err = s.Create(ctx, "a/two.backup")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := up.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if err := up.Abort(); err != nil {
		t.Fatalf("second Abort: %v", err)
	}
	if _, err := s.Open(ctx, "a/two.backup"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of an aborted upload = %v; want ErrNotFound", err)
	}

	up, _ = s.Create(ctx, "b.manifest.json")
	_, _ = up.Write([]byte("{}"))
	if err := up.Commit(); err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(ctx, "")
	if err != nil || len(objs) != 2 || objs[0].Name != "a/one.backup" || objs[0].Size != int64(len(data)) || objs[1].Name != "b.manifest.json" {
		t.Fatalf("List = %+v, %v", objs, err)
	}
	objs, err = s.List(ctx, "a/")
	if err != nil || len(objs) != 1 {
		t.Fatalf("List(a/) = %+v, %v", objs, err)
	}
	if err := s.Delete(ctx, "a/one.backup"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "a/one.backup"); err != nil {
		t.Fatalf("Delete of a missing object = %v; want nil", err)
	}
	if _, err := s.Open(ctx, "a/one.backup"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Delete = %v; want ErrNotFound", err)
	}
	for _, bad := range []string{"", "../x", "/abs", "a/../b", "a//b", `a\b`, ".tmp-x"} {
		if _, err := s.Create(ctx, bad); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("Create(%q) = %v; want ErrUnsafePath", bad, err)
		}
		if _, err := s.Open(ctx, bad); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("Open(%q) = %v; want ErrUnsafePath", bad, err)
		}
		if err := s.Delete(ctx, bad); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("Delete(%q) = %v; want ErrUnsafePath", bad, err)
		}
	}
}

func TestS3Store(t *testing.T) {
	for _, conc := range []int{1, 2} {
		s, err := NewS3Store(newFakeS3(t), "backups", WithPartSize(5<<20), WithPartConcurrency(conc))
		if err != nil {
			t.Fatal(err)
		}
		storeContract(t, s, 11<<20) // three parts
	}
}

func TestS3StoreFailures(t *testing.T) {
	ctx := context.Background()
	c := newFakeS3(t)
	s, _ := NewS3Store(c, "no-such-bucket")
	up, err := s.Create(ctx, "x.backup")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := up.Write(testData(1 << 20))
	cerr := up.Commit()
	if werr == nil && cerr == nil {
		t.Fatal("upload into a missing bucket succeeded")
	}
	if _, err := s.Open(ctx, "x.backup"); err == nil {
		t.Fatal("Open in a missing bucket succeeded")
	}
	if _, err := s.List(ctx, ""); err == nil {
		t.Fatal("List of a missing bucket succeeded")
	}
	// A failed upload makes the whole backup fail, with nothing recorded.
	m := mustManager(t, s)
	_, err = m.Backup(ctx, NewReaderSource(bytes.NewReader(testData(8<<20)), ""))
	if err == nil || errors.Is(err, ErrSourceFailed) {
		t.Fatalf("Backup into a missing bucket = %v; want a store error, not ErrSourceFailed", err)
	}
}
