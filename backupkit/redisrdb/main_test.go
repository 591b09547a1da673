package redisrdb

import (
	"strings"
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

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
