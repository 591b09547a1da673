package ratelimit

import (
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newClock starts mid-window for every period used in tests, so results do
// not depend on where a window starts.
func newClock() *testenv.Clock {
	return testenv.NewClock(time.Unix(1_800_000_000, 0).Add(7 * time.Second))
}

func newMem(t testing.TB, c *testenv.Clock, opts ...MemoryOption) *MemoryStore {
	t.Helper()
	s, err := NewMemoryStore(opts...)
	if err != nil {
		t.Fatalf("NewMemoryStore: %v", err)
	}
	if c != nil {
		s.now = c.Now
	}
	return s
}
