package backupkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newFakeS3 starts an in-process S3 server and returns a client for it with
// the bucket "backups" created.
func newFakeS3(t testing.TB) *minio.Client {
	t.Helper()
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ts.Close()
	})
	u, _ := url.Parse(ts.URL)
	c, err := minio.New(u.Host, &minio.Options{
		Creds:     credentials.NewStaticV4("key", "secret", ""),
		Region:    "us-east-1",
		Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(context.Background(), "backups", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return c
}

func newDirStore(t testing.TB) *dirStore {
	t.Helper()
	s, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s.(*dirStore)
}

func mustManager(t testing.TB, s Store, opts ...Option) *Manager {
	t.Helper()
	m, err := New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// lookPath returns the directory holding a program on $PATH.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}
