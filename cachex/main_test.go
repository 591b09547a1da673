package cachex

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
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
	return WithShared(redisTier(t, client, prefix, opts...))
}

// redisTier is the redisstore tier over client, under prefix.
func redisTier(t testing.TB, client redis.UniversalClient, prefix string, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	// A generous deadline: these tests are about caching, run on a busy
	// machine with -race; the outage tests set their own.
	base := []redisstore.Option{redisstore.WithKeyPrefix(prefix), redisstore.WithTimeout(2 * time.Second),
		redisstore.WithLogger(slog.New(slog.DiscardHandler))}
	tier, err := redisstore.New(client, append(base, opts...)...)
	if err != nil {
		t.Fatalf("redisstore.New: %v", err)
	}
	return tier
}

// subscribed waits until c's invalidation subscription is up and c trusts
// its in-process tier.
func subscribed[V any](t testing.TB, c *Cache[V]) {
	t.Helper()
	if c.subReady == nil {
		return
	}
	select {
	case <-c.subReady:
	case <-time.After(5 * time.Second):
		t.Fatal("invalidation subscriber not ready")
	}
}

// probe is a real shared tier (redisstore over Redis) that counts the
// cache's calls to it and can hold the invalidation subscription down, as
// a Redis whose pub/sub alone fails would: cut ends the subscription (the
// cache is told it is lost) and keeps it down until restore. after, when
// set, runs once a call has returned, before the cache sees the answer.
type probe struct {
	Shared
	gets, adds, sets, dels atomic.Int64

	mu     sync.Mutex
	held   bool
	wake   chan struct{}
	cancel context.CancelFunc
	after  func(op string)
}

// newProbe is a probe over a fresh tier under r's prefix; held keeps the
// subscription down from the start.
func newProbe(t testing.TB, r *testenv.Redis, held bool) *probe {
	t.Helper()
	return &probe{Shared: redisTier(t, r.Client, r.Prefix), held: held, wake: make(chan struct{})}
}

func (p *probe) done(op string) {
	p.mu.Lock()
	f := p.after
	p.mu.Unlock()
	if f != nil {
		f(op)
	}
}

// setAfter sets (or, with nil, clears) the hook run after each call.
func (p *probe) setAfter(f func(op string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.after = f
}

func (p *probe) Get(ctx context.Context, keys []string) ([][]byte, error) {
	p.gets.Add(1)
	defer p.done("get")
	return p.Shared.Get(ctx, keys)
}

func (p *probe) Add(ctx context.Context, keys []string, values [][]byte) ([][]byte, error) {
	p.adds.Add(1)
	defer p.done("add")
	return p.Shared.Add(ctx, keys, values)
}

func (p *probe) Set(ctx context.Context, keys []string, values [][]byte, ttls []time.Duration, note []byte) error {
	p.sets.Add(1)
	defer p.done("set")
	return p.Shared.Set(ctx, keys, values, ttls, note)
}

func (p *probe) Delete(ctx context.Context, keys []string, note []byte) error {
	p.dels.Add(1)
	defer p.done("delete")
	return p.Shared.Delete(ctx, keys, note)
}

// calls is the number of calls (Get, Add, Set, Delete) so far.
func (p *probe) calls() int64 { return p.gets.Load() + p.adds.Load() + p.sets.Load() + p.dels.Load() }

func (p *probe) Subscribe(ctx context.Context, deliver func(note []byte), state func(up bool)) {
	for ctx.Err() == nil {
		p.mu.Lock()
		held, wake := p.held, p.wake
		sctx, cancel := context.WithCancel(ctx)
		p.cancel = cancel
		p.mu.Unlock()
		if held {
			cancel()
			select {
			case <-wake:
			case <-ctx.Done():
			}
			continue
		}
		p.Shared.Subscribe(sctx, deliver, state)
		cancel()
	}
}

// cut ends the subscription and holds it down until restore.
func (p *probe) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = true
	if p.cancel != nil {
		p.cancel()
	}
}

// restore lets the subscription up again.
func (p *probe) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = false
	close(p.wake)
	p.wake = make(chan struct{})
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
