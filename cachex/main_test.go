package cachex

import (
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// go-redis's maintenance-notification circuit breaker of cluster
		// and ring clients outlives Close by design.
		goleak.IgnoreTopFunction("github.com/redis/go-redis/v9/maintnotifications.(*CircuitBreakerManager).cleanupLoop"))
}

func newClock() *testenv.Clock {
	return testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

func withClock(c *testenv.Clock) Option { return func(cfg *config) { cfg.now = c.Now } }
func withRand(f func() float64) Option  { return func(cfg *config) { cfg.rand = f } }

type user struct {
	ID    int64
	Name  string
	Email string
	Tags  []string
	Score float64
}

func newCache[V any](t testing.TB, opts ...Option) *Cache[V] {
	t.Helper()
	c, err := New[V](opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
