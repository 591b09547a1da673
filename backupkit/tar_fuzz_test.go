package backupkit

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary tar streams to the directory target and checks
// that nothing is ever written outside it and that every link it leaves
// resolves inside it.
func FuzzExtract(f *testing.F) {
	reg := func(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeReg, body: "x"} }
	link := func(name, to string) tarEntry { return tarEntry{name: name, link: to, typ: tar.TypeSymlink} }
	for _, es := range [][]tarEntry{
		{reg("a"), {name: "d/", typ: tar.TypeDir}, reg("d/b")},
		{reg("../evil")},
		{reg("/abs")},
		{link("l", "../../x"), reg("l/f")},
		{link("d", "."), link("d/e", ".."), reg("d/e/evil")},
		{{name: "d/", typ: tar.TypeDir}, link("d/up", ".."), reg("d/up/f")},
		{reg("a"), {name: "h", link: "a", typ: tar.TypeLink}},
	} {
		f.Add(makeTar(f, es))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		parent := filepath.Join(base, "parent")
		if err := os.MkdirAll(outside, 0o700); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(parent, "out")
		dt, _ := NewDirectoryTarget(dst)
		err := dt.Restore(context.Background(), bytes.NewReader(data), Manifest{Kind: "tar", Format: "tar", Size: int64(len(data))})
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Fatalf("extraction wrote outside the target: %v", ents)
		}
		ents, _ := os.ReadDir(base)
		if len(ents) > 2 {
			t.Fatalf("extraction wrote next to the target: %v", ents)
		}
		if err != nil {
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Fatalf("failed extraction left %v", ents)
			}
			return
		}
		real, _ := filepath.EvalSymlinks(dst)
		_ = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			to, _ := os.Readlink(p)
			resolved := filepath.Join(filepath.Dir(p), to)
			if rel, err := filepath.Rel(dst, resolved); err != nil || strings.HasPrefix(rel, "..") {
				t.Fatalf("link %s -> %s leaves the target (%s)", p, to, real)
			}
			return nil
		})
	})
}

// FuzzSafeName checks that no name safeName accepts can leave the target or
// pass through a recorded link.
func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../a", "/a", "a/../../b", `a\..\b`, "./a", "a/./b/", "l/x", ""} {
		f.Add(s)
	}
	links := map[string]bool{"l": true, "d/l": true}
	f.Fuzz(func(t *testing.T, raw string) {
		name, err := safeName(raw, links)
		if err != nil {
			return
		}
		if name == "" || name == "." || strings.HasPrefix(name, "/") || name == ".." ||
			strings.HasPrefix(name, "../") || strings.Contains(name, "/../") || links[name] {
			t.Fatalf("safeName(%q) = %q; accepted an unsafe name", raw, name)
		}
		if !filepath.IsLocal(name) {
			t.Fatalf("safeName(%q) = %q; not local", raw, name)
		}
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			if links[d] {
				t.Fatalf("safeName(%q) = %q passes through link %q", raw, name, d)
			}
		}
	})
}
