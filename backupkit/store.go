package backupkit

import (
	"context"
	"io"
	"time"
)

// Store is where backups live: a local directory ([NewDirStore]) or S3-compatible
// object storage (package s3store). Names are slash-separated, relative and never
// contain "..". Implementations must be safe for concurrent use.
type Store interface {
	// Create starts writing the object name. Nothing is visible under name
	// until Upload.Commit returns nil; Upload.Abort discards what was written.
	Create(ctx context.Context, name string) (Upload, error)
	// Open reads a committed object. A missing object gives an error that
	// wraps ErrNotFound.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns every committed object whose name starts with prefix.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes a committed object. Deleting a missing object is not an
	// error.
	Delete(ctx context.Context, name string) error
}

// Upload is an object being written. Exactly one of Commit or Abort must be
// called; after that, Write fails.
type Upload interface {
	io.Writer
	// Commit makes the object durable and visible under its name.
	Commit() error
	// Abort discards the partial object.
	Abort() error
}

// Object describes one stored object.
type Object struct {
	Name    string
	Size    int64
	ModTime time.Time
}
