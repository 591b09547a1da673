package backupkit

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
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
