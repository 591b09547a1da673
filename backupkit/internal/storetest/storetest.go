// Package storetest holds the behaviour every backupkit.Store must have, for
// the tests of the stores in backupkit and its subpackages.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/covetgo/covet/backupkit"
)

// Contract checks the behaviour every backupkit.Store must have, writing objects of
// up to big bytes.
func Contract(t *testing.T, s backupkit.Store, big int) {
	t.Helper()
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
	if _, err := s.Open(ctx, "a/two.backup"); !errors.Is(err, backupkit.ErrNotFound) {
		t.Fatalf("Open of an aborted upload = %v; want backupkit.ErrNotFound", err)
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
	if _, err := s.Open(ctx, "a/one.backup"); !errors.Is(err, backupkit.ErrNotFound) {
		t.Fatalf("Open after Delete = %v; want backupkit.ErrNotFound", err)
	}
	for _, bad := range []string{"", "../x", "/abs", "a/../b", "a//b", `a\b`, ".tmp-x"} {
		if _, err := s.Create(ctx, bad); !errors.Is(err, backupkit.ErrUnsafePath) {
			t.Errorf("Create(%q) = %v; want backupkit.ErrUnsafePath", bad, err)
		}
		if _, err := s.Open(ctx, bad); !errors.Is(err, backupkit.ErrUnsafePath) {
			t.Errorf("Open(%q) = %v; want backupkit.ErrUnsafePath", bad, err)
		}
		if err := s.Delete(ctx, bad); !errors.Is(err, backupkit.ErrUnsafePath) {
			t.Errorf("Delete(%q) = %v; want backupkit.ErrUnsafePath", bad, err)
		}
	}
}

// testData returns n bytes that compress somewhat, like a real dump.
func testData(n int) []byte {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x>>24) & 0x3f
	}
	return b
}
