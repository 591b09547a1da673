package backupkit

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// dirSource is what [NewDirectorySource] returns.
type dirSource struct {
	root    string
	exclude []string

	beforeOpen func(rel string) // test hook: runs between the walk and the open
}

var _ Source = (*dirSource)(nil)

// NewDirectorySource returns a source archiving root. Each exclude pattern
// ([path.Match] syntax) is matched against an entry's slash-separated path
// relative to root and against its base name; a matching directory is
// skipped whole.
//
// The source archives a directory tree as tar, built in-process. It
// keeps modes, modification times and symbolic links (as links, never
// followed) and skips entries matching the exclude patterns.
func NewDirectorySource(root string, exclude ...string) (Source, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("%w: directory source: %w", ErrInvalidConfig, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: directory source: %s is not a directory", ErrInvalidConfig, root)
	}
	for _, p := range exclude {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("%w: exclude pattern %q: %w", ErrInvalidConfig, p, err)
		}
	}
	return &dirSource{root: root, exclude: exclude}, nil
}

func (s *dirSource) excluded(rel string) bool {
	for _, p := range s.exclude {
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
		if ok, _ := path.Match(p, path.Base(rel)); ok {
			return true
		}
	}
	return false
}

// Backup implements [Source]. The tree is walked and read through an
// [os.Root], so nothing outside root is ever read. A regular file replaced by a
// symbolic link between the walk and the read is archived as that link, never
// followed; one replaced by another regular file (an atomic rename) is
// archived as the file found at open time; one removed meanwhile is left out.
func (s *dirSource) Backup(ctx context.Context, w io.Writer) (SourceInfo, error) {
	info := SourceInfo{Kind: "tar", Format: "tar", Tool: "archive/tar"}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return info, fmt.Errorf("%w: tar: %w", ErrSourceFailed, err)
	}
	defer root.Close()
	tw := tar.NewWriter(w)
	err = fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if s.excluded(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since the directory was read
		}
		if err != nil {
			return err
		}
		var f *os.File
		if fi.Mode().IsRegular() {
			if s.beforeOpen != nil {
				s.beforeOpen(rel)
			}
			f, fi, err = openWalked(root, rel)
			if err != nil || fi == nil {
				return err
			}
			defer f.Close()
		}
		return writeEntry(tw, root, rel, fi, f)
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return info, fmt.Errorf("%w: tar: %w", ErrSourceFailed, err)
	}
	return info, nil
}

// openWalked opens the regular file rel and returns it with its own
// metadata. When the path no longer names a regular file (it was swapped for
// a link, a directory or something else since the walk) it returns no file
// and the path's current metadata, so the caller archives what is there
// without following it; a nil FileInfo means the entry is gone.
func openWalked(root *os.Root, rel string) (*os.File, fs.FileInfo, error) {
	f, ferr := root.Open(rel) // follows links only inside root
	lfi, lerr := root.Lstat(rel)
	if lerr != nil {
		if f != nil {
			f.Close()
		}
		if errors.Is(lerr, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, lerr
	}
	if ferr == nil {
		ofi, err := f.Stat()
		if err == nil && ofi.Mode().IsRegular() && os.SameFile(ofi, lfi) {
			return f, ofi, nil
		}
		f.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	if lfi.Mode().IsRegular() {
		// Replaced again between the open and the Lstat: the name is
		// busy; archive the file on the next backup rather than guess.
		return nil, nil, nil
	}
	return nil, lfi, nil
}

// writeEntry writes the header for rel and, for a regular file, the content
// of f. Sockets, devices and pipes are skipped.
func writeEntry(tw *tar.Writer, root *os.Root, rel string, fi fs.FileInfo, f *os.File) error {
	var link string
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		var err error
		if link, err = root.Readlink(rel); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
	case fi.IsDir(), fi.Mode().IsRegular() && f != nil:
	default:
		return nil
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if f == nil {
		return nil
	}
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s changed while being read: %w", rel, err)
	}
	return nil
}

// dirTarget is what [NewDirectoryTarget] returns.
type dirTarget struct {
	dir string
}

var _ Target = (*dirTarget)(nil)

// NewDirectoryTarget returns a target extracting into dir.
//
// The target extracts a tar backup into a directory that must not exist
// yet (or be empty). Entries are first extracted into a staging directory next
// to it, through an [os.Root] so nothing can be written outside; only when
// the whole archive has been extracted and verified is the staging directory
// renamed into place. Entries that are absolute, contain "..", lead through a
// symbolic link, or are links pointing outside the tree are refused with
// [ErrUnsafePath]; hard links, devices and other special files are refused
// too.
func NewDirectoryTarget(dir string) (Target, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: directory target: empty path", ErrInvalidConfig)
	}
	return &dirTarget{dir: filepath.Clean(dir)}, nil
}

// Restore implements [Target].
func (t *dirTarget) Restore(ctx context.Context, r io.Reader, m Manifest) error {
	if m.Format != "tar" {
		return fmt.Errorf("backupkit: %s backup into a directory: %w", m.Kind, ErrWrongKind)
	}
	if ents, err := os.ReadDir(t.dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("backupkit: %s: %w", t.dir, ErrTargetNotEmpty)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backupkit: directory target: %w", err)
	}
	parent := filepath.Dir(t.dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("backupkit: directory target: %w", err)
	}
	staging, err := os.MkdirTemp(parent, ".restore-"+filepath.Base(t.dir)+"-*")
	if err != nil {
		return fmt.Errorf("backupkit: directory target: %w", err)
	}
	if err := extract(ctx, r, staging, m.Size); err != nil {
		_ = os.RemoveAll(staging)
		return err
	}
	_ = os.Remove(t.dir) // empty or missing, checked above
	if err := os.Rename(staging, t.dir); err != nil {
		_ = os.RemoveAll(staging)
		return fmt.Errorf("backupkit: directory target: %w", err)
	}
	return nil
}

// extract unpacks the tar stream r into dir. It never writes more file data
// than limit bytes (the stream's size, when known): an archive cannot expand
// on disk beyond what it holds.
func extract(ctx context.Context, r io.Reader, dir string, limit int64) error {
	if limit <= 0 {
		limit = 1 << 62
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("backupkit: directory target: %w", err)
	}
	defer root.Close()
	links := map[string]bool{}
	type dirMode struct {
		name string
		mode fs.FileMode
	}
	var dirs []dirMode
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, ErrChecksum) {
				return err
			}
			return fmt.Errorf("backupkit: tar: %w", err)
		}
		name, err := safeName(hdr.Name, links)
		if err != nil {
			return err
		}
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return fmt.Errorf("backupkit: %s: sparse tar entries are not supported: %w", name, ErrUnsafePath)
			}
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o700); err != nil {
				return fmt.Errorf("backupkit: extract %s: %w", name, err)
			}
			dirs = append(dirs, dirMode{name, mode})
		case tar.TypeReg:
			n, err := extractFile(root, name, mode, hdr.ModTime, tr, limit)
			if err != nil {
				return err
			}
			limit -= n
		case tar.TypeSymlink:
			if err := extractSymlink(root, name, hdr.Linkname); err != nil {
				return err
			}
			links[name] = true
		default:
			return fmt.Errorf("backupkit: %s: unsupported tar entry type %q: %w", name, hdr.Typeflag, ErrUnsafePath)
		}
	}
	// Directory modes last, so a read-only directory does not stop its own
	// extraction.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := root.Chmod(dirs[i].name, dirs[i].mode); err != nil {
			return fmt.Errorf("backupkit: extract %s: %w", dirs[i].name, err)
		}
	}
	return nil
}

// extractFile writes one regular file of at most limit bytes from r and
// returns how many it wrote; a file longer than limit is refused with
// [ErrUnsafePath].
func extractFile(root *os.Root, name string, mode fs.FileMode, mtime time.Time, r io.Reader, limit int64) (int64, error) {
	if err := root.MkdirAll(path.Dir(name), 0o700); err != nil {
		return 0, fmt.Errorf("backupkit: extract %s: %w", name, err)
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("backupkit: extract %s: %w", name, err)
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if n > limit {
		err = fmt.Errorf("entries hold more data than the archive: %w", ErrUnsafePath)
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, ErrChecksum) {
			return n, err
		}
		return n, fmt.Errorf("backupkit: extract %s: %w", name, err)
	}
	_ = root.Chtimes(name, mtime, mtime)
	return n, nil
}

// extractSymlink creates the link name -> target, refusing a target that is
// empty, absolute or leads outside the tree.
func extractSymlink(root *os.Root, name, target string) error {
	if target == "" || filepath.IsAbs(target) || strings.Contains(target, `\`) ||
		!filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(name), target))) {
		return fmt.Errorf("backupkit: link %s -> %s points outside the target: %w", name, target, ErrUnsafePath)
	}
	if err := root.MkdirAll(path.Dir(name), 0o700); err != nil {
		return fmt.Errorf("backupkit: extract %s: %w", name, err)
	}
	if err := root.Symlink(target, name); err != nil {
		return fmt.Errorf("backupkit: extract %s: %w", name, err)
	}
	return nil
}

// safeName cleans an entry name and refuses one that is absolute, climbs out
// with "..", or passes through a symbolic link extracted earlier.
func safeName(raw string, links map[string]bool) (string, error) {
	name := path.Clean(strings.TrimSuffix(raw, "/"))
	if raw == "" || strings.Contains(raw, `\`) || path.IsAbs(raw) || name == "." ||
		!filepath.IsLocal(filepath.FromSlash(name)) {
		return "", fmt.Errorf("backupkit: tar entry %q: %w", raw, ErrUnsafePath)
	}
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if links[d] {
			return "", fmt.Errorf("backupkit: tar entry %q passes through link %q: %w", raw, d, ErrUnsafePath)
		}
	}
	if links[name] {
		return "", fmt.Errorf("backupkit: tar entry %q replaces a link: %w", raw, ErrUnsafePath)
	}
	return name, nil
}
