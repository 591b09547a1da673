package s3store

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.uber.org/goleak"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/internal/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newFakeS3 starts an in-process S3 server (gofakes3, speaking the real
// protocol) and returns a client for it with the bucket "backups" created.
func newFakeS3(t testing.TB) *minio.Client {
	t.Helper()
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ts.Close()
	})
	u, _ := url.Parse(ts.URL)
	c, err := minio.New(u.Host, &minio.Options{
		Creds:     credentials.NewStaticV4("key", "secret", ""),
		Region:    "us-east-1",
		Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(context.Background(), "backups", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return c
}

func data(n int) []byte { return bytes.Repeat([]byte("backup data\n"), n/12+1)[:n] }

// A directory backed up to S3 and restored from it comes back whole.
func TestDirectoryOverS3(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.txt"), data(3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(newFakeS3(t), "backups", WithPartSize(5<<20))
	if err != nil {
		t.Fatal(err)
	}
	m, err := backupkit.New(s)
	if err != nil {
		t.Fatal(err)
	}
	src, err := backupkit.NewDirectorySource(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Backup(ctx, src); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	dt, err := backupkit.NewDirectoryTarget(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Restore(ctx, "", dt); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dst, "a.txt")); err != nil || !bytes.Equal(got, data(3<<20)) {
		t.Errorf("restored a.txt: %d bytes, %v; want the original", len(got), err)
	}
}

func TestNewS3StoreValidates(t *testing.T) {
	c := newFakeS3(t)
	tests := []struct {
		name   string
		client *minio.Client
		bucket string
		opts   []Option
		ok     bool
	}{
		{"defaults", c, "backups", nil, true},
		{"options", c, "backups", []Option{WithPartSize(8 << 20), WithPartConcurrency(2)}, true},
		{"nil client", nil, "backups", nil, false},
		{"no bucket", c, "", nil, false},
		{"small part", c, "backups", []Option{WithPartSize(1 << 20)}, false},
		{"negative part", c, "backups", []Option{WithPartSize(-1)}, false},
		{"zero threads", c, "backups", []Option{WithPartConcurrency(-3)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.client, tt.bucket, tt.opts...)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%s) = %v; want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestS3Store(t *testing.T) {
	for _, conc := range []int{1, 2} {
		s, err := New(newFakeS3(t), "backups", WithPartSize(5<<20), WithPartConcurrency(conc))
		if err != nil {
			t.Fatal(err)
		}
		storetest.Contract(t, s, 11<<20) // three parts
	}
}

func TestS3StoreFailures(t *testing.T) {
	ctx := context.Background()
	c := newFakeS3(t)
	s, _ := New(c, "no-such-bucket")
	up, err := s.Create(ctx, "x.backup")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := up.Write(data(1 << 20))
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
	m, err := backupkit.New(s)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Backup(ctx, backupkit.NewReaderSource(bytes.NewReader(data(8<<20)), ""))
	if err == nil || errors.Is(err, backupkit.ErrSourceFailed) {
		t.Fatalf("Backup into a missing bucket = %v; want a store error, not ErrSourceFailed", err)
	}
}
