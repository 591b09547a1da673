package backupkit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/covetgo/covet/backupkit/internal/tool"
	"github.com/covetgo/covet/testenv"
)

// customDump returns a pg_dump custom-format archive of a fresh schema
// holding one table.
func customDump(t *testing.T) (archive []byte, schema string) {
	t.Helper()
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Skip("pg_dump not installed")
	}
	pg := testenv.NewPostgres(t)
	ctx := context.Background()
	if _, err := pg.DB.ExecContext(ctx, "CREATE TABLE widgets (id int PRIMARY KEY, name text)"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tool.Run(ctx, "pg_dump", []string{"--format=custom", "--schema=" + pg.Schema, "--dbname=" + testenv.DatabaseURL()}, nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), pg.Schema
}

// Verify of a PostgreSQL custom-format backup lists the archive with
// pg_restore --list; a backup labelled so whose bytes are no archive (the
// hashes match, the content is wrong) fails Verify with pg_restore's
// complaint.
func TestVerifyListsPostgresArchive(t *testing.T) {
	archive, schema := customDump(t)
	tests := []struct {
		name   string
		data   []byte
		format string
		ok     bool
	}{
		{"custom archive", archive, "custom", true},
		{"not an archive", []byte("-- plain SQL, mislabelled\nSELECT 1;\n"), "custom", false},
		{"truncated archive", archive[:len(archive)/2], "custom", false},
		{"plain format is not listed", []byte("SELECT 1;\n"), "plain", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := mustManager(t, newDirStore(t))
			man, err := m.Backup(ctx, sourceFunc(func(ctx context.Context, w io.Writer) (SourceInfo, error) {
				_, err := w.Write(tt.data)
				return SourceInfo{Kind: "postgres", Format: tt.format, Tool: "pg_dump"}, err
			}))
			if err != nil {
				t.Fatal(err)
			}
			v, err := m.Verify(ctx, man.ID)
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), "pg_restore") || errors.Is(err, ErrChecksum) {
					t.Fatalf("Verify = %v; want pg_restore's refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if tt.format != "custom" {
				if v.Contents != nil {
					t.Fatalf("Contents = %q; want none for a %s dump", v.Contents, tt.format)
				}
				return
			}
			if !slices.ContainsFunc(v.Contents, func(l string) bool { return strings.Contains(l, "TABLE "+schema+" widgets") }) {
				t.Fatalf("Contents = %q; want the widgets table", v.Contents)
			}
			for _, l := range v.Contents {
				if l == "" || strings.HasPrefix(l, ";") {
					t.Fatalf("Contents holds a comment or blank line: %q", l)
				}
			}
		})
	}
}

func TestPgListBinDir(t *testing.T) {
	archive, _ := customDump(t)
	stream := func(fn func(io.Reader) error) error { return fn(bytes.NewReader(archive)) }
	bin, err := exec.LookPath("pg_restore")
	if err != nil {
		t.Skip("pg_restore not installed")
	}
	tests := []struct {
		bin string
		ok  bool
	}{
		{"", true},
		{filepath.Dir(bin), true},
		{t.TempDir(), false},
	}
	for _, tt := range tests {
		list, err := pgList(context.Background(), tt.bin, stream)
		if (err == nil) != tt.ok || (tt.ok && len(list) == 0) {
			t.Errorf("pgList(%q) = %d lines, %v; want ok=%v", tt.bin, len(list), err, tt.ok)
		}
	}
}
