package backupkit

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTree(t *testing.T, root string) {
	t.Helper()
	files := map[string]string{
		"a.txt":             "alpha",
		"sub/b.txt":         strings.Repeat("bravo ", 10000),
		"sub/deep/c.bin":    "\x00\x01\x02",
		"cache/skip.tmp":    "excluded",
		"sub/ignored.log":   "excluded by base name",
		"exec.sh":           "#!/bin/sh\n",
		"sub/deep/keep.txt": "keep",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "exec.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/b.txt", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../a.txt", filepath.Join(root, "sub", "up")); err != nil {
		t.Fatal(err)
	}
}

func TestDirectoryRoundTrip(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root)
	src, err := NewDirectorySource(root, "cache", "*.log")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Store{newDirStore(t)} {
		m := mustManager(t, s)
		man, err := m.Backup(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if man.Kind != "tar" || man.Format != "tar" {
			t.Fatalf("manifest = %+v", man)
		}
		dst := filepath.Join(t.TempDir(), "restored")
		dt, err := NewDirectoryTarget(dst)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "", dt); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		for _, name := range []string{"a.txt", "sub/b.txt", "sub/deep/c.bin", "exec.sh", "sub/deep/keep.txt"} {
			want, _ := os.ReadFile(filepath.Join(root, name))
			got, err := os.ReadFile(filepath.Join(dst, name))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: restored %q, %v; want %q", name, got, err, want)
			}
		}
		for _, name := range []string{"cache", "cache/skip.tmp", "sub/ignored.log"} {
			if _, err := os.Lstat(filepath.Join(dst, name)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s was restored; it is excluded", name)
			}
		}
		if fi, err := os.Stat(filepath.Join(dst, "exec.sh")); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("exec.sh mode = %v, %v; want 0755", fi.Mode(), err)
		}
		if l, err := os.Readlink(filepath.Join(dst, "link")); err != nil || l != "sub/b.txt" {
			t.Errorf("link = %q, %v; want sub/b.txt", l, err)
		}
		if l, err := os.Readlink(filepath.Join(dst, "sub", "up")); err != nil || l != "../a.txt" {
			t.Errorf("sub/up = %q, %v; want ../a.txt", l, err)
		}
		// A second restore into the now full directory is refused.
		if _, err := m.Restore(ctx, "", dt); !errors.Is(err, ErrTargetNotEmpty) {
			t.Fatalf("Restore into a full directory = %v; want ErrTargetNotEmpty", err)
		}
	}
}

type tarEntry struct {
	name, link string
	typ        byte
	body       string
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if e.typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestExtractRefusesEscapes(t *testing.T) {
	reg := func(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeReg, body: "x"} }
	link := func(name, to string) tarEntry { return tarEntry{name: name, link: to, typ: tar.TypeSymlink} }
	tests := []struct {
		name    string
		entries []tarEntry
		ok      bool
	}{
		{"plain", []tarEntry{{name: "d/", typ: tar.TypeDir}, reg("d/f"), reg("g")}, true},
		{"dot dot inside", []tarEntry{reg("a/../b")}, true},
		{"local link", []tarEntry{reg("a"), link("l", "a"), link("d/l", "../a")}, true},
		{"dot dot", []tarEntry{reg("../evil")}, false},
		{"nested dot dot", []tarEntry{reg("a/../../evil")}, false},
		{"absolute", []tarEntry{reg("/etc/evil")}, false},
		{"dot", []tarEntry{reg(".")}, false},
		{"empty", []tarEntry{reg("")}, false},
		{"backslash", []tarEntry{reg(`..\evil`)}, false},
		{"link out", []tarEntry{link("l", "../outside")}, false},
		{"link deep out", []tarEntry{link("d/l", "../../outside")}, false},
		{"link absolute", []tarEntry{link("l", "/etc/passwd")}, false},
		{"link empty", []tarEntry{link("l", "")}, false},
		{"through link", []tarEntry{{name: "d/", typ: tar.TypeDir}, link("l", "d"), reg("l/f")}, false},
		{"link to dot then climb", []tarEntry{link("d", "."), link("d/e", "..")}, false},
		{"replace link", []tarEntry{reg("a"), link("l", "a"), reg("l")}, false},
		{"hard link", []tarEntry{reg("a"), {name: "h", link: "a", typ: tar.TypeLink}}, false},
		{"device", []tarEntry{{name: "dev", typ: tar.TypeChar}}, false},
		{"duplicate", []tarEntry{reg("a"), reg("a")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "out")
			dt, _ := NewDirectoryTarget(dst)
			err := dt.Restore(context.Background(), bytes.NewReader(makeTar(t, tt.entries)), Manifest{Kind: "tar", Format: "tar"})
			if tt.ok {
				if err != nil {
					t.Fatalf("extract = %v; want success", err)
				}
				return
			}
			if err == nil {
				t.Fatal("extract succeeded; want refusal")
			}
			if tt.name != "duplicate" && !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("extract = %v; want ErrUnsafePath", err)
			}
			// Nothing is left behind: neither the target nor staging.
			ents, _ := os.ReadDir(parent)
			if len(ents) != 0 {
				t.Fatalf("refused extraction left %v", ents)
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(parent), "evil")); err == nil {
				t.Fatal("an entry escaped the target")
			}
		})
	}
}

func TestDirectoryErrors(t *testing.T) {
	if _, err := NewDirectorySource(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("NewDirectorySource(missing) succeeded")
	}
	f := filepath.Join(t.TempDir(), "f")
	_ = os.WriteFile(f, nil, 0o600)
	if _, err := NewDirectorySource(f); err == nil {
		t.Fatal("NewDirectorySource(file) succeeded")
	}
	if _, err := NewDirectorySource(t.TempDir(), "[bad"); err == nil {
		t.Fatal("NewDirectorySource with a bad pattern succeeded")
	}
	if _, err := NewDirectoryTarget(""); err == nil {
		t.Fatal("NewDirectoryTarget(\"\") succeeded")
	}
	dt, _ := NewDirectoryTarget(filepath.Join(t.TempDir(), "x"))
	if err := dt.Restore(context.Background(), strings.NewReader(""), Manifest{Kind: "redis", Format: "rdb"}); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("Restore of rdb into a directory = %v; want ErrWrongKind", err)
	}
	if err := dt.Restore(context.Background(), strings.NewReader("not a tar archive at all, really not"), Manifest{Kind: "tar", Format: "tar"}); err == nil {
		t.Fatal("Restore of garbage succeeded")
	}
	// A cancelled backup of a directory fails.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := t.TempDir()
	writeTree(t, root)
	src, _ := NewDirectorySource(root)
	if _, err := src.Backup(ctx, io.Discard); !errors.Is(err, ErrSourceFailed) {
		t.Fatalf("cancelled Backup = %v; want ErrSourceFailed", err)
	}
}

func TestDirectorySourceSwappedForLink(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside-secret")
	if err := os.WriteFile(outside, []byte("outside secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target func(root string) string // where the swapped-in link points
		swap   bool                     // false: the file is removed instead
	}{
		{"link inside root", func(string) string { return "secret.txt" }, true},
		{"link outside root", func(string) string { return outside }, true},
		{"removed", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "a.txt"), []byte("alpha"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "secret.txt"), []byte("inside secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			src, err := NewDirectorySource(root, "secret.txt")
			if err != nil {
				t.Fatal(err)
			}
			src.(*dirSource).beforeOpen = func(rel string) {
				if rel != "a.txt" {
					return
				}
				p := filepath.Join(root, "a.txt")
				if err := os.Remove(p); err != nil {
					t.Error(err)
				}
				if tc.swap {
					if err := os.Symlink(tc.target(root), p); err != nil {
						t.Error(err)
					}
				}
			}
			var buf bytes.Buffer
			if _, err := src.Backup(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(&buf)
			var seen bool
			for {
				hdr, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(tr)
				if strings.Contains(string(body), "secret") {
					t.Fatalf("entry %s holds %q: a swapped link was followed", hdr.Name, body)
				}
				if hdr.Name != "a.txt" {
					continue
				}
				seen = true
				if !tc.swap {
					t.Fatalf("removed file archived as %+v", hdr)
				}
				if hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != tc.target(root) {
					t.Fatalf("a.txt archived as type %q -> %q; want the link to %q", hdr.Typeflag, hdr.Linkname, tc.target(root))
				}
			}
			if tc.swap && !seen {
				t.Fatal("swapped a.txt missing from the archive")
			}
		})
	}
}
