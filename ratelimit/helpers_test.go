package ratelimit

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is a settable time source for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// Mid-window for every period used in tests, so results do not depend on
	// where a window starts.
	return &clock{t: time.Unix(1_800_000_000, 0).Add(7 * time.Second)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newMem(t testing.TB, c *clock, opts ...MemoryOption) *MemoryStore {
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
