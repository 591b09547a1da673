package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/internal/objname"

	"github.com/minio/minio-go/v7"
)

// defaultPartSize is the multipart part size unless [WithPartSize] says
// otherwise. Each concurrent part holds one buffer of this size, so an
// upload's memory is part size × concurrency.
const defaultPartSize = 16 << 20

// s3Store is what [New] returns.
type s3Store struct {
	client  *minio.Client
	bucket  string
	part    uint64
	threads uint
}

var _ backupkit.Store = (*s3Store)(nil)

// ErrInvalidConfig is backupkit's: errors.Is matches it under either name.
var ErrInvalidConfig = backupkit.ErrInvalidConfig

// Option configures [New].
type Option func(*s3Store)

// WithPartSize sets the multipart part size in bytes (at least 5 MiB, the S3
// minimum; default 16 MiB).
func WithPartSize(n int64) Option {
	return func(s *s3Store) {
		if n < 0 {
			n = 0
		}
		s.part = uint64(n)
	}
}

// WithPartConcurrency sets how many parts upload at once (default 1). Memory
// grows to part size × n.
func WithPartConcurrency(n int) Option {
	return func(s *s3Store) {
		if n < 0 {
			n = 0
		}
		s.threads = uint(n)
	}
}

// New returns a store in bucket, which must already exist.
//
// The store keeps backups in a bucket of S3-compatible object storage through
// minio-go. Uploads stream through multipart upload with an explicit part
// size (minio-go would otherwise size parts for a 5 TiB object and buffer
// hundreds of MiB); an upload that is aborted, or whose stream fails, is
// aborted on the server, so no object appears.
//
// Each part is checked by the server through its Content-MD5 header, which
// every S3-compatible server accepts, and sent as an unsigned payload: the
// aws-chunked streaming signature minio-go would otherwise use over plain HTTP
// is mishandled by several S3-compatible servers (they hash the chunk framing
// and answer BadDigest). No trailing CRC headers are sent unless the client
// itself enables them. The backup's own SHA-256 in the manifest covers the
// whole object end to end. It is safe for concurrent use.
func New(client *minio.Client, bucket string, opts ...Option) (backupkit.Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: s3 store: nil client", ErrInvalidConfig)
	}
	if bucket == "" {
		return nil, fmt.Errorf("%w: s3 store: empty bucket name", ErrInvalidConfig)
	}
	s := &s3Store{client: client, bucket: bucket, part: defaultPartSize, threads: 1}
	for _, o := range opts {
		o(s)
	}
	if s.part < 5<<20 {
		return nil, fmt.Errorf("%w: s3 store: part size %d is under the 5 MiB minimum", ErrInvalidConfig, s.part)
	}
	if s.threads < 1 {
		return nil, fmt.Errorf("%w: s3 store: part concurrency must be at least 1", ErrInvalidConfig)
	}
	return s, nil
}

func (s *s3Store) key(name string) (string, error) {
	if !objname.Valid(name) {
		return "", fmt.Errorf("s3store: invalid object name %q: %w", name, backupkit.ErrUnsafePath)
	}
	return name, nil
}

func (s *s3Store) putOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{
		ContentType:           "application/octet-stream",
		PartSize:              s.part,
		NumThreads:            s.threads,
		ConcurrentStreamParts: s.threads > 1,
		SendContentMd5:        true,
		DisableContentSha256:  true,
	}
}

// Create implements [backupkit.Store]. The object is uploaded while it is written; it
// only becomes visible when Commit completes the multipart upload.
func (s *s3Store) Create(ctx context.Context, name string) (backupkit.Upload, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	u := &s3Upload{pw: pw, done: make(chan struct{})}
	u.putEmpty = func() error {
		_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(nil), 0, s.putOptions())
		return err
	}
	go func() {
		defer close(u.done)
		_, u.err = s.client.PutObject(ctx, s.bucket, key, pr, -1, s.putOptions())
		// Unblock a writer still waiting when the upload fails early.
		_ = pr.CloseWithError(errUploadFailed)
	}()
	return u, nil
}

var (
	errUploadFailed  = errors.New("s3store: upload failed")
	errUploadAborted = errors.New("s3store: upload aborted")
)

type s3Upload struct {
	pw       *io.PipeWriter
	done     chan struct{}
	err      error
	finished bool
	written  bool
	// putEmpty stores an empty object: a streamed upload cannot, since S3
	// refuses an empty part.
	putEmpty func() error
}

func (u *s3Upload) Write(p []byte) (int, error) {
	if u.finished {
		return 0, errUploadClosed
	}
	u.written = u.written || len(p) > 0
	n, err := u.pw.Write(p)
	if errors.Is(err, errUploadFailed) {
		<-u.done
		return n, fmt.Errorf("s3store: s3 store: %w", u.err)
	}
	return n, err
}

func (u *s3Upload) Commit() error {
	if u.finished {
		return errUploadClosed
	}
	u.finished = true
	if !u.written {
		_ = u.pw.CloseWithError(errUploadAborted)
		<-u.done
		u.err = u.putEmpty()
	} else {
		_ = u.pw.Close()
		<-u.done
	}
	if u.err != nil {
		return fmt.Errorf("s3store: s3 store: commit: %w", u.err)
	}
	return nil
}

func (u *s3Upload) Abort() error {
	if u.finished {
		return nil
	}
	u.finished = true
	// The failed read makes minio-go abort the multipart upload.
	_ = u.pw.CloseWithError(errUploadAborted)
	<-u.done
	return nil
}

// Open implements [backupkit.Store].
func (s *s3Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	if _, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); err != nil {
		if isNoSuchKey(err) {
			return nil, fmt.Errorf("s3store: %s: %w", name, backupkit.ErrNotFound)
		}
		return nil, fmt.Errorf("s3store: s3 store: %w", err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3store: s3 store: %w", err)
	}
	return obj, nil
}

func isNoSuchKey(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == "NotFound"
}

// List implements [backupkit.Store].
func (s *s3Store) List(ctx context.Context, prefix string) ([]backupkit.Object, error) {
	var out []backupkit.Object
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("s3store: s3 store: list: %w", o.Err)
		}
		out = append(out, backupkit.Object{Name: o.Key, Size: o.Size, ModTime: o.LastModified})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements [backupkit.Store].
func (s *s3Store) Delete(ctx context.Context, name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("s3store: s3 store: %w", err)
	}
	return nil
}

var errUploadClosed = errors.New("s3store: upload already committed or aborted")
