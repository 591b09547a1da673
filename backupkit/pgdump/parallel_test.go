package pgdump

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/covetgo/covet/backupkit"
)

func TestUntarFlat(t *testing.T) {
	archive := func(hdrs ...*tar.Header) *bytes.Buffer {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hdrs {
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				_, _ = tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			}
		}
		_ = tw.Close()
		return &b
	}
	reg := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Size: size, Mode: 0o600, Typeflag: tar.TypeReg}
	}
	tests := []struct {
		name   string
		hdrs   []*tar.Header
		limit  int64
		unsafe bool
		ok     bool
	}{
		{"pg_dump files", []*tar.Header{reg("toc.dat", 10), reg("3401.dat", 20), reg("blob_16384.dat", 1)}, 0, false, true},
		{"parent", []*tar.Header{reg("../x", 1)}, 0, true, false},
		{"subdirectory", []*tar.Header{reg("a/b", 1)}, 0, true, false},
		{"absolute", []*tar.Header{reg("/etc/x", 1)}, 0, true, false},
		{"symlink", []*tar.Header{{Name: "l", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}}, 0, true, false},
		{"directory", []*tar.Header{{Name: "d", Typeflag: tar.TypeDir, Mode: 0o700}}, 0, true, false},
		{"over the limit", []*tar.Header{reg("toc.dat", 10), reg("1.dat", 10)}, 15, false, false},
		{"twice", []*tar.Header{reg("toc.dat", 1), reg("toc.dat", 1)}, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := untarFlat(context.Background(), archive(tt.hdrs...), dir, tt.limit)
			if (err == nil) != tt.ok || errors.Is(err, backupkit.ErrUnsafePath) != tt.unsafe {
				t.Fatalf("untarFlat() = %v; want ok=%v, backupkit.ErrUnsafePath=%v", err, tt.ok, tt.unsafe)
			}
			if tt.ok {
				for _, h := range tt.hdrs {
					fi, err := os.Stat(filepath.Join(dir, h.Name))
					if err != nil || fi.Size() != h.Size {
						t.Errorf("%s: %v, size %v; want %d", h.Name, err, fi, h.Size)
					}
				}
			}
		})
	}
}

func TestTarFlatRoundTrip(t *testing.T) {
	src := t.TempDir()
	for name, body := range map[string]string{"1.dat": "one", "toc.dat": "table of contents", "2.dat": ""} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := tarFlat(context.Background(), src, &b); err != nil {
		t.Fatal(err)
	}
	first, err := tar.NewReader(bytes.NewReader(b.Bytes())).Next()
	if err != nil || first.Name != "toc.dat" {
		t.Fatalf("first entry = %v, %v; want toc.dat", first, err)
	}
	dst := t.TempDir()
	if err := untarFlat(context.Background(), &b, dst, 0); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"1.dat", "toc.dat", "2.dat"} {
		want, _ := os.ReadFile(filepath.Join(src, name))
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := tarFlat(context.Background(), src, &bytes.Buffer{}); err == nil {
		t.Fatal("tarFlat of a directory with a subdirectory succeeded")
	}
}
