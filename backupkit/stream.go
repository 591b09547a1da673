package backupkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/covetgo/covet/internal/typednil"
)

// readerSource is what [NewReaderSource] returns.
type readerSource struct {
	r    io.Reader
	kind string
}

var _ Source = (*readerSource)(nil)

// NewReaderSource returns a source reading r; kind names it in the manifest
// ("stream" when empty). A read error other than io.EOF fails the backup;
// a nil r fails it with ErrInvalidConfig.
//
// The source backs up whatever an [io.Reader] yields, until io.EOF.
func NewReaderSource(r io.Reader, kind string) Source {
	if kind == "" {
		kind = "stream"
	}
	return &readerSource{r: r, kind: kind}
}

// Backup implements [Source].
func (s *readerSource) Backup(ctx context.Context, w io.Writer) (SourceInfo, error) {
	info := SourceInfo{Kind: s.kind}
	if typednil.Is(s.r) {
		return info, fmt.Errorf("%w: NewReaderSource: nil reader", ErrInvalidConfig)
	}
	if _, err := io.Copy(w, ctxReader{ctx, s.r}); err != nil {
		return info, fmt.Errorf("%w: %w", ErrSourceFailed, err)
	}
	return info, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// fileTarget is what [NewFileTarget] returns.
type fileTarget struct {
	path string
	perm fs.FileMode
}

var _ Target = (*fileTarget)(nil)

// NewFileTarget returns a target writing path with permissions perm (0600
// when zero).
//
// The target restores a backup into one file, such as an RDB snapshot placed
// for the operator to start Redis with. It writes a temporary file next to
// path, syncs it and renames it into place only when the whole stream has
// been read and verified. An existing file is never overwritten.
func NewFileTarget(path string, perm fs.FileMode) (Target, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: file target: empty path", ErrInvalidConfig)
	}
	if perm == 0 {
		perm = 0o600
	}
	return &fileTarget{path: path, perm: perm}, nil
}

// Restore implements [Target].
func (t *fileTarget) Restore(ctx context.Context, r io.Reader, m Manifest) error {
	if _, err := os.Lstat(t.path); err == nil {
		return fmt.Errorf("backupkit: %s: %w", t.path, ErrTargetNotEmpty)
	}
	f, err := os.CreateTemp(filepath.Dir(t.path), tmpPrefix+filepath.Base(t.path)+"-*")
	if err != nil {
		return fmt.Errorf("backupkit: file target: %w", err)
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Chmod(t.perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link rather than rename: it fails instead of replacing a file
		// that appeared meanwhile.
		err = os.Link(f.Name(), t.path)
	}
	_ = os.Remove(f.Name())
	if err != nil {
		if errors.Is(err, ErrChecksum) {
			return err
		}
		return fmt.Errorf("backupkit: file target: %w", err)
	}
	return nil
}

// writerTarget is what [NewWriterTarget] returns.
type writerTarget struct{ w io.Writer }

var _ Target = writerTarget{}

// NewWriterTarget returns a target copying to w.
//
// The target hands the restored stream to a writer. The writer sees data
// before the end of the stream is checked; use it where the consumer can
// discard a stream that ends in an error.
func NewWriterTarget(w io.Writer) Target { return writerTarget{w: w} }

// Restore implements [Target].
func (t writerTarget) Restore(ctx context.Context, r io.Reader, m Manifest) error {
	if typednil.Is(t.w) {
		return fmt.Errorf("%w: NewWriterTarget: nil writer", ErrInvalidConfig)
	}
	_, err := io.Copy(t.w, ctxReader{ctx, r})
	return err
}
