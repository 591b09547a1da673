package backupkit

import (
	"context"
	"errors"
	"io"
	"strings"
)

// errFault is the failure a faultStore injects.
var errFault = errors.New("injected store fault")

// faultStore wraps a real store and makes one operation fail, as an
// unreachable disk or bucket would: op is "create", "write", "commit",
// "open", "read", "list" or "delete"; only objects whose name ends with
// suffix are affected ("" for all); writes and reads let after bytes pass
// first. It is configured before use and never changed.
type faultStore struct {
	Store
	op     string
	suffix string
	after  int64
}

func (s *faultStore) hit(op, name string) bool {
	return s.op == op && strings.HasSuffix(name, s.suffix)
}

func (s *faultStore) Create(ctx context.Context, name string) (Upload, error) {
	if s.hit("create", name) {
		return nil, errFault
	}
	up, err := s.Store.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	return &faultUpload{Upload: up, s: s, name: name}, nil
}

func (s *faultStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if s.hit("open", name) {
		return nil, errFault
	}
	rc, err := s.Store.Open(ctx, name)
	if err != nil || !s.hit("read", name) {
		return rc, err
	}
	return &faultReader{ReadCloser: rc, left: s.after}, nil
}

func (s *faultStore) List(ctx context.Context, prefix string) ([]Object, error) {
	if s.op == "list" {
		return nil, errFault
	}
	return s.Store.List(ctx, prefix)
}

func (s *faultStore) Delete(ctx context.Context, name string) error {
	if s.hit("delete", name) {
		return errFault
	}
	return s.Store.Delete(ctx, name)
}

type faultUpload struct {
	Upload
	s    *faultStore
	name string
	n    int64
}

func (u *faultUpload) Write(p []byte) (int, error) {
	if u.s.hit("write", u.name) && u.n+int64(len(p)) > u.s.after {
		return 0, errFault
	}
	u.n += int64(len(p))
	return u.Upload.Write(p)
}

// Commit fails as a store's commit does: the upload is gone and nothing is
// visible.
func (u *faultUpload) Commit() error {
	if u.s.hit("commit", u.name) {
		_ = u.Upload.Abort()
		return errFault
	}
	return u.Upload.Commit()
}

type faultReader struct {
	io.ReadCloser
	left int64
}

func (r *faultReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, errFault
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.ReadCloser.Read(p)
	r.left -= int64(n)
	return n, err
}
