package pgdump

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/internal/tool"
)

// DirectoryFormat is pg_dump's directory archive (-Fd): one file per table,
// which is what lets pg_dump and pg_restore run several jobs at once (see
// [WithJobs]). backupkit stores it as a tar stream through the same
// compression, hashing and encryption as any other backup.
const DirectoryFormat = "directory"

// WithJobs dumps with n parallel pg_dump jobs, one table at a time each, all
// reading the same snapshot (pg_dump -Fd -j n); on a target, pg_restore runs
// n jobs. n > 1 implies [DirectoryFormat]: pg_dump writes the archive
// uncompressed into a temporary directory under [os.TempDir] (so the host
// needs disk for the uncompressed dump), which is then streamed through the
// pipeline and removed. A parallel restore cannot be a single transaction:
// a failed one leaves a partial database, so restore into a fresh or
// scratch database (see [Manager.RestoreChecked]). The default, 1, dumps
// one stream with no temporary files. Worth it when the database has
// several large tables and the server and host have cores to spare.
func WithJobs(n int) Option { return func(c *pgConfig) { c.jobs = n } }

// dumpDirectory runs pg_dump -Fd into a temporary directory and streams it
// to w as a tar archive of its (flat) files.
func (s *pgSource) dumpDirectory(ctx context.Context, args, env []string, w io.Writer) error {
	tmp, err := os.MkdirTemp("", "backupkit-pgdump-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "dump")
	args = append(args, "--format=directory", "--jobs="+strconv.Itoa(max(s.c.jobs, 1)),
		"--compress=0", "--file="+dir)
	args = append(args, s.c.extra...)
	if err := tool.Run(ctx, s.c.tool("pg_dump"), args, env, nil, nil); err != nil {
		return err
	}
	return tarFlat(ctx, dir, w)
}

// tarFlat writes the regular files of dir (no subdirectories: a pg_dump
// directory archive has none) to w as a tar archive, toc.dat first.
func tarFlat(ctx context.Context, dir string, w io.Writer) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for i, e := range ents {
		if e.Name() == "toc.dat" {
			ents[0], ents[i] = ents[i], ents[0]
		}
	}
	tw := tar.NewWriter(w)
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return fmt.Errorf("pg_dump directory holds %q, not a regular file", e.Name())
		}
		if err := tarFile(tw, dir, e.Name()); err != nil {
			return err
		}
	}
	return tw.Close()
}

func tarFile(tw *tar.Writer, dir, name string) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}

// restoreDirectory unpacks a directory-format backup into a temporary
// directory and runs pg_restore on it with the target's jobs.
func (t *pgTarget) restoreDirectory(ctx context.Context, r io.Reader, m backupkit.Manifest, dbname string, env []string) error {
	tmp, err := os.MkdirTemp("", "backupkit-pgrestore-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := untarFlat(ctx, r, tmp, m.Size); err != nil {
		return err
	}
	args := []string{"--dbname=" + dbname, "--no-password", "--exit-on-error", "--format=directory"}
	if t.c.jobs > 1 {
		args = append(args, "--jobs="+strconv.Itoa(t.c.jobs))
	} else {
		args = append(args, "--single-transaction")
	}
	if t.c.noOwner {
		args = append(args, "--no-owner", "--no-privileges")
	}
	if t.c.clean {
		args = append(args, "--clean", "--if-exists")
	}
	args = append(args, t.c.extra...)
	args = append(args, tmp)
	return tool.Run(ctx, t.c.tool("pg_restore"), args, env, nil, nil)
}

// untarFlat extracts a tar archive of plain files with simple names (what
// tarFlat writes) into dir, writing at most limit bytes of file data when
// limit > 0. Anything else in the archive is refused with [backupkit.ErrUnsafePath].
func untarFlat(ctx context.Context, r io.Reader, dir string, limit int64) error {
	if limit <= 0 {
		limit = 1 << 62
	}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pgdump: directory archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || !flatName(hdr.Name) {
			return fmt.Errorf("pgdump: directory archive entry %q: %w", hdr.Name, backupkit.ErrUnsafePath)
		}
		if hdr.Size > limit {
			return fmt.Errorf("pgdump: directory archive entry %q is larger than the backup", hdr.Name)
		}
		f, err := os.OpenFile(filepath.Join(dir, hdr.Name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		n, err := io.CopyN(f, tr, hdr.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("pgdump: directory archive entry %q: %w", hdr.Name, err)
		}
		limit -= n
	}
}

// flatName reports whether name is a plain file name pg_dump writes
// (toc.dat, 1234.dat, blob_… files): no separators, no dot-dot.
func flatName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	})
}
