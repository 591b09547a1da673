package backupkit

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestDirStore(t *testing.T) {
	s := newDirStore(t)
	// Files still being written never show in the listing.
	up, err := s.Create(context.Background(), "c.backup")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	objs, _ := s.List(context.Background(), "c")
	if len(objs) != 0 {
		t.Fatalf("List shows an upload in progress: %v", objs)
	}
}

func TestNewDirStore(t *testing.T) {
	if _, err := NewDirStore(""); err == nil {
		t.Fatal("NewDirStore(\"\") succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDirStore(f); err == nil {
		t.Fatal("NewDirStore(a file) succeeded")
	}
	if _, err := NewDirStore(filepath.Join(f, "sub")); err == nil {
		t.Fatal("NewDirStore(under a file) succeeded")
	}
	s, err := NewDirStore(filepath.Join(t.TempDir(), "new", "dir"))
	if err != nil {
		t.Fatal(err)
	}
	dir := s.(*dirStore).dir
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() != 0 {
		if _, err := s.Create(context.Background(), "x"); err == nil {
			t.Fatal("Create in a read-only directory succeeded")
		}
	}
}
