package backupkit

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// A dir store's failures come back as errors and leave no temporary file.
func TestDirStoreErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, s *dirStore) error
	}{
		{"create under a file", func(t *testing.T, s *dirStore) error {
			commit(t, s, "f", "x")
			_, err := s.Create(ctx, "f/x")
			return err
		}},
		{"commit over a directory", func(t *testing.T, s *dirStore) error {
			commit(t, s, "d/x", "x")
			up, err := s.Create(ctx, "d")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := up.Write([]byte("data")); err != nil {
				t.Fatal(err)
			}
			return up.Commit()
		}},
		{"delete a directory", func(t *testing.T, s *dirStore) error {
			commit(t, s, "d/x", "x")
			return s.Delete(ctx, "d")
		}},
		{"list cancelled", func(t *testing.T, s *dirStore) error {
			commit(t, s, "x", "x")
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.List(cctx, "")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("List = %v; want context.Canceled", err)
			}
			return err
		}},
		{"list a removed root", func(t *testing.T, s *dirStore) error {
			if err := os.RemoveAll(s.dir); err != nil {
				t.Fatal(err)
			}
			_, err := s.List(ctx, "")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newDirStore(t)
			if err := tt.run(t, s); err == nil {
				t.Fatal("succeeded; want an error")
			}
			_ = filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
					t.Errorf("left a temporary file %s", p)
				}
				return nil
			})
		})
	}
}

// List shows committed regular files only: no links, no uploads in
// progress, sorted by name.
func TestDirStoreListSkipsOthers(t *testing.T) {
	ctx := context.Background()
	s := newDirStore(t)
	commit(t, s, "b", "bb")
	commit(t, s, "a/c", "c")
	if err := os.Symlink("b", filepath.Join(s.dir, "link")); err != nil {
		t.Fatal(err)
	}
	up, err := s.Create(ctx, "pending")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	if strings.Join(names, ",") != "a/c,b" || objs[1].Size != 2 {
		t.Fatalf("List = %+v; want a/c and b", objs)
	}
}

func commit(t *testing.T, s Store, name, body string) {
	t.Helper()
	up, err := s.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := up.Commit(); err != nil {
		t.Fatal(err)
	}
}
