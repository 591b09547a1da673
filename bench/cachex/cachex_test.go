// Package cachexbench compares cachex with go-redis/cache on the same
// struct values: a Redis hit (no in-process tier on either side) and an
// in-process hit (cachex's otter tier against go-redis/cache's TinyLFU).
package cachexbench

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/cachex"
	"github.com/covetgo/covet/cachex/redisstore"
	"github.com/covetgo/covet/testenv"
	gocache "github.com/go-redis/cache/v9"
)

// Object is the value both caches store.
type Object struct {
	ID        int64
	Name      string
	Email     string
	Roles     []string
	Score     float64
	CreatedAt time.Time
}

var value = Object{
	ID:        42,
	Name:      "Ann Example",
	Email:     "ann@example.com",
	Roles:     []string{"admin", "beta"},
	Score:     9.5,
	CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

// runPair runs the two sub-benchmarks, in reverse order when
// CACHEX_BENCH_REVERSE is set, so that bench.sh can alternate which one
// goes first and neither always pays for a cold start.
func runPair(b *testing.B, first, second string, f1, f2 func(*testing.B)) {
	if os.Getenv("CACHEX_BENCH_REVERSE") != "" {
		b.Run(second, f2)
		b.Run(first, f1)
		return
	}
	b.Run(first, f1)
	b.Run(second, f2)
}

func BenchmarkRedisHit(b *testing.B) {
	ctx := context.Background()
	r := testenv.NewRedis(b)
	// Open the pool's connections before either side is measured.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				_ = r.Client.Ping(ctx).Err()
			}
		})
	}
	wg.Wait()
	runPair(b, "cachex", "go-redis-cache", func(b *testing.B) {
		tier, err := redisstore.New(r.Client, redisstore.WithKeyPrefix(r.Prefix))
		if err != nil {
			b.Fatal(err)
		}
		c, err := cachex.New[Object](cachex.WithShared(tier), cachex.WithoutLocal())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		key := "cx-obj" // under r.Prefix: the same key shape as go-redis/cache's below
		if err := c.Set(ctx, key, value, time.Hour); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Get(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}, func(b *testing.B) {
		c := gocache.New(&gocache.Options{Redis: r.Client})
		key := r.Key("gc-obj")
		if err := c.Set(&gocache.Item{Ctx: ctx, Key: key, Value: value, TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var v Object
			for pb.Next() {
				if err := c.Get(ctx, key, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkLocalHit(b *testing.B) {
	ctx := context.Background()
	runPair(b, "cachex", "go-redis-cache", func(b *testing.B) {
		c, err := cachex.New[Object]()
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := c.Set(ctx, "obj", value, time.Hour); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Get(ctx, "obj"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}, func(b *testing.B) {
		c := gocache.New(&gocache.Options{LocalCache: gocache.NewTinyLFU(1000, time.Hour)})
		if err := c.Set(&gocache.Item{Ctx: ctx, Key: "obj", Value: value, TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var v Object
			for pb.Next() {
				if err := c.Get(ctx, "obj", &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
