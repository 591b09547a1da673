package backupkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/covetgo/covet/backupkit/internal/objname"
)

// tmpPrefix starts the base name of every file a dirStore is still writing;
// List never shows such files.
const tmpPrefix = objname.TmpPrefix

// dirStore is what [NewDirStore] returns.
type dirStore struct {
	dir string
}

var _ Store = (*dirStore)(nil)

// NewDirStore returns a store rooted at dir, creating it (mode 0700) if it
// does not exist.
//
// The store keeps backups as files in a local directory. Each object is written
// to a temporary name in its final directory, synced, and renamed into place
// on Commit, so a crash never leaves a half-written file under a real name.
// It is safe for concurrent use.
func NewDirStore(dir string) (Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: dir store: empty directory", ErrInvalidConfig)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: dir store: %w", ErrInvalidConfig, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: dir store: %w", ErrInvalidConfig, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: dir store: %s is not a directory", ErrInvalidConfig, dir)
	}
	return &dirStore{dir: dir}, nil
}

func (s *dirStore) path(name string) (string, error) {
	if !objname.Valid(name) {
		return "", fmt.Errorf("backupkit: invalid object name %q: %w", name, ErrUnsafePath)
	}
	return filepath.Join(s.dir, filepath.FromSlash(name)), nil
}

// Create implements [Store].
func (s *dirStore) Create(ctx context.Context, name string) (Upload, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("backupkit: dir store: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), tmpPrefix+filepath.Base(p)+"-*")
	if err != nil {
		return nil, fmt.Errorf("backupkit: dir store: %w", err)
	}
	return &dirUpload{f: f, final: p}, nil
}

type dirUpload struct {
	f     *os.File
	final string
	done  bool
}

func (u *dirUpload) Write(p []byte) (int, error) {
	if u.done {
		return 0, errUploadClosed
	}
	return u.f.Write(p)
}

var errUploadClosed = errors.New("backupkit: upload already committed or aborted")

func (u *dirUpload) Commit() error {
	if u.done {
		return errUploadClosed
	}
	u.done = true
	tmp := u.f.Name()
	err := u.f.Sync()
	if cerr := u.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, u.final)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("backupkit: dir store: commit: %w", err)
	}
	// Sync the directory so the rename itself survives a crash.
	if d, err := os.Open(filepath.Dir(u.final)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func (u *dirUpload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	_ = u.f.Close()
	if err := os.Remove(u.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backupkit: dir store: abort: %w", err)
	}
	return nil
}

// Open implements [Store].
func (s *dirStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("backupkit: %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("backupkit: dir store: %w", err)
	}
	return f, nil
}

// List implements [Store].
func (s *dirStore) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !strings.HasPrefix(name, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, Object{Name: name, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backupkit: dir store: list: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements [Store].
func (s *dirStore) Delete(ctx context.Context, name string) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backupkit: dir store: %w", err)
	}
	return nil
}
