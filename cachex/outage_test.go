package cachex

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/cachex/redisstore"
	"github.com/covetgo/covet/testenv"
)

// outage is a Redis that is down, and the client a service would use.
type outage struct {
	name   string
	frozen bool // accepts connections and never answers; else refuses them
	// aware builds the client with ContextTimeoutEnabled; without it only
	// the tier's own deadline (redisdeadline.Do) bounds a call.
	aware bool
	// read is the client's read timeout, far above the tier's deadline.
	// (A non-aware client's subscriber handshake waits for it, so Close
	// does too: the frozen non-aware case keeps it at a second.)
	read time.Duration
}

var outages = []outage{
	{"refused", false, false, 30 * time.Second},
	{"frozen", true, true, 30 * time.Second},
	{"frozen-unaware", true, false, time.Second},
}

// tier is a shared tier over the outage, with a 20 ms deadline and a
// breaker whose cooldown is long, so no probe runs during a test.
func (o outage) tier(t testing.TB) Option {
	t.Helper()
	addr := testenv.ClosedAddr(t)
	if o.frozen {
		addr = testenv.SilentAddr(t)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 30 * time.Second,
		ReadTimeout: o.read, WriteTimeout: o.read, ContextTimeoutEnabled: o.aware})
	t.Cleanup(func() { _ = rdb.Close() })
	return onRedis(t, rdb, "outage:", redisstore.WithTimeout(20*time.Millisecond), redisstore.WithBreaker(3, time.Hour))
}

// tripBreaker fails calls until the tier's breaker is open.
func tripBreaker[V any](t testing.TB, c *Cache[V]) {
	t.Helper()
	for i := 0; ; i++ {
		err := c.Delete(context.Background(), "trip")
		if errors.Is(err, redisstore.ErrUnavailable) && strings.Contains(err.Error(), "breaker open") {
			return
		}
		if !errors.Is(err, ErrShared) || i > 10 {
			t.Fatalf("Delete with Redis down = %v; want the breaker to open", err)
		}
	}
}

// TestSharedOutage checks cachex's fallback while Redis is down: reads are
// served by the loader and the in-process tier, writes report ErrShared,
// and once the breaker is open no call waits for Redis.
func TestSharedOutage(t *testing.T) {
	for _, o := range outages {
		for _, local := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/local=%v", o.name, local), func(t *testing.T) {
				ctx := context.Background()
				opts := []Option{o.tier(t)}
				if !local {
					opts = append(opts, WithoutLocal())
				}
				c := newCache[int](t, opts...)
				var calls atomic.Int32
				load := func(context.Context) (int, error) { calls.Add(1); return 5, nil }
				for i := 0; i < 3; i++ {
					v, err := c.GetOrLoad(ctx, "k", time.Minute, load)
					if err != nil || v != 5 {
						t.Fatalf("GetOrLoad with Redis down = %d, %v; want 5", v, err)
					}
				}
				want := int32(3) // every read runs the loader
				if local {
					want = 1 // the in-process tier serves the rest
				}
				if got := calls.Load(); got != want {
					t.Fatalf("loader ran %d times for 3 reads; want %d", got, want)
				}
				tripBreaker(t, c)
				for name, err := range map[string]error{
					"Set":           c.Set(ctx, "k", 6, time.Minute),
					"SetMany":       c.SetMany(ctx, map[string]int{"a": 1}, time.Minute),
					"Delete":        c.Delete(ctx, "k"),
					"InvalidateTag": c.InvalidateTag(ctx, "t"),
				} {
					if !errors.Is(err, ErrShared) || !errors.Is(err, redisstore.ErrUnavailable) {
						t.Errorf("%s with Redis down: %v; want ErrShared wrapping redisstore.ErrUnavailable", name, err)
					}
				}
				if _, err := c.GetMany(ctx, []string{"a", "b"}); err != nil {
					t.Fatalf("GetMany with Redis down: %v", err)
				}
				if v, err := c.GetOrLoad(ctx, "fresh", time.Minute, load); err != nil || v != 5 {
					t.Fatalf("GetOrLoad with the breaker open = %d, %v; want 5", v, err)
				}
				if local {
					if v, err := c.Get(ctx, "fresh"); err != nil || v != 5 {
						t.Fatalf("Get of a value loaded during the outage = %d, %v; want it served in process", v, err)
					}
				}
				if s := c.Stats(); s.Shared.Errors == 0 {
					t.Fatalf("stats = %+v; want shared-tier errors counted", s)
				}
			})
		}
	}
}

// BenchmarkGetOrLoadOutage measures a read while Redis is down and the
// breaker is open: every read misses (a new key each time), so it costs
// the loader (here nothing) plus the cache's own work, which must stay far
// below a millisecond. no-shared-tier is the same read on an in-process
// cache, for comparison.
func BenchmarkGetOrLoadOutage(b *testing.B) {
	b.Run("no-shared-tier", func(b *testing.B) { benchMisses(b, newCache[user](b)) })
	for _, o := range outages {
		for _, local := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/local=%v", o.name, local), func(b *testing.B) {
				opts := []Option{o.tier(b)}
				if !local {
					opts = append(opts, WithoutLocal())
				}
				c := newCache[user](b, opts...)
				tripBreaker(b, c)
				benchMisses(b, c)
			})
		}
	}
}

// benchMisses reads keys never read before (the in-process copy is dropped
// after each read), so every read runs the loader.
func benchMisses(b *testing.B, c *Cache[user]) {
	ctx := context.Background()
	load := func(context.Context) (user, error) { return benchUser, nil }
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("user:", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		if _, err := c.GetOrLoad(ctx, k, time.Minute, load); err != nil {
			b.Fatal(err)
		}
		if c.local != nil {
			c.local.Invalidate(k)
		}
	}
}
