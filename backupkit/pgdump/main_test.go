package pgdump

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/covetgo/covet/backupkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newDirStore(t testing.TB) backupkit.Store {
	t.Helper()
	s, err := backupkit.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustManager(t testing.TB, s backupkit.Store, opts ...backupkit.Option) *backupkit.Manager {
	t.Helper()
	m, err := backupkit.New(s, opts...)
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

// flipByte changes one byte in the middle of a stored object.
func flipByte(t *testing.T, s backupkit.Store, name string, at func(size int64) int64) {
	t.Helper()
	rc, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	b[at(int64(len(b)))] ^= 0x01
	up, err := s.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := up.Commit(); err != nil {
		t.Fatal(err)
	}
}
