package cachex

import (
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/covetgo/covet/cachex/redisstore"
	"github.com/covetgo/covet/testenv"
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

// onRedis is the shared tier over client, under prefix.
func onRedis(t testing.TB, client redis.UniversalClient, prefix string, opts ...redisstore.Option) Option {
	t.Helper()
	// A generous deadline: these tests are about caching, run on a busy
	// machine with -race; the outage tests set their own.
	base := []redisstore.Option{redisstore.WithKeyPrefix(prefix), redisstore.WithTimeout(2 * time.Second),
		redisstore.WithLogger(slog.New(slog.DiscardHandler))}
	tier, err := redisstore.New(client, append(base, opts...)...)
	if err != nil {
		t.Fatalf("redisstore.New: %v", err)
	}
	return WithShared(tier)
}

var _ Shared = (*redisstore.Store)(nil)

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
