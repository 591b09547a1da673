package backupkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failAtEnd yields data and then fails with err instead of io.EOF, as a
// restore stream does when the backup does not match its manifest.
func failAtEnd(data string, err error) io.Reader {
	return io.MultiReader(strings.NewReader(data), &failingReader{err: err})
}

func TestFileTarget(t *testing.T) {
	tests := []struct {
		name    string
		perm    fs.FileMode
		setup   func(t *testing.T, path string) // prepares the path before the restore
		r       func() io.Reader
		ctxDone bool
		want    error // errors.Is target; nil: success
		wantAny bool  // any error will do
		perm2   fs.FileMode
	}{
		{name: "default mode", r: func() io.Reader { return strings.NewReader("rdb") }, perm2: 0o600},
		{name: "given mode", perm: 0o640, r: func() io.Reader { return strings.NewReader("rdb") }, perm2: 0o640},
		{name: "file exists", setup: func(t *testing.T, p string) { writeFile(t, p, "old") }, want: ErrTargetNotEmpty},
		{name: "dangling link exists", setup: func(t *testing.T, p string) {
			if err := os.Symlink(filepath.Join(filepath.Dir(p), "nowhere"), p); err != nil {
				t.Fatal(err)
			}
		}, want: ErrTargetNotEmpty},
		{name: "damaged stream", r: func() io.Reader { return failAtEnd("partial", fmt.Errorf("x: %w", ErrChecksum)) }, want: ErrChecksum},
		{name: "failing stream", r: func() io.Reader { return failAtEnd("partial", errFault) }, want: errFault},
		{name: "cancelled", r: func() io.Reader { return strings.NewReader("rdb") }, ctxDone: true, want: context.Canceled},
		{name: "missing directory", setup: func(t *testing.T, p string) {
			if err := os.Remove(filepath.Dir(p)); err != nil {
				t.Fatal(err)
			}
		}, wantAny: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "dump.rdb")
			if tt.setup != nil {
				tt.setup(t, p)
			}
			before := dirNames(t, dir)
			ft, err := NewFileTarget(p, tt.perm)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.ctxDone {
				cancel()
			}
			r := io.Reader(strings.NewReader("unused"))
			if tt.r != nil {
				r = tt.r()
			}
			err = ft.Restore(ctx, r, Manifest{})
			if tt.want == nil && !tt.wantAny {
				if err != nil {
					t.Fatalf("Restore = %v", err)
				}
				b, err := os.ReadFile(p)
				fi, serr := os.Stat(p)
				if err != nil || serr != nil || string(b) != "rdb" || fi.Mode().Perm() != tt.perm2 {
					t.Fatalf("restored %q (%v, %v); want %q with mode %v", b, err, fi.Mode(), "rdb", tt.perm2)
				}
				return
			}
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Restore = %v; want %v", err, tt.want)
			}
			// A failed restore leaves the directory as it found it: no
			// half-written file, no temporary one.
			if after := dirNames(t, dir); after != before {
				t.Fatalf("directory holds %q after a failed restore; had %q", after, before)
			}
			if tt.name == "file exists" {
				if b, _ := os.ReadFile(p); string(b) != "old" {
					t.Fatalf("the existing file now holds %q", b)
				}
			}
		})
	}
	if _, err := NewFileTarget("", 0); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf(`NewFileTarget("") = %v; want ErrInvalidConfig`, err)
	}
}

// A backup restored into a file through the Manager is the bytes backed up;
// a damaged one leaves no file.
func TestFileTargetRestore(t *testing.T) {
	ctx := context.Background()
	s := newDirStore(t)
	m := mustManager(t, s)
	data := testData(300 << 10)
	man, err := m.Backup(ctx, NewReaderSource(bytes.NewReader(data), "redis"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "dump.rdb")
	ft, _ := NewFileTarget(p, 0)
	if _, err := m.Restore(ctx, man.ID, ft); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored %d bytes, %v; want the %d backed up", len(got), err, len(data))
	}
	rewrite(t, s, man.Object, func(b []byte) []byte { return b[:len(b)-1] })
	p2 := filepath.Join(t.TempDir(), "dump.rdb")
	ft2, _ := NewFileTarget(p2, 0)
	if _, err := m.Restore(ctx, man.ID, ft2); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Restore of a truncated backup = %v; want ErrChecksum", err)
	}
	if names := dirNames(t, filepath.Dir(p2)); names != "" {
		t.Fatalf("a refused restore left %q", names)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dirNames lists dir's entries, "" when it is missing or empty.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}
