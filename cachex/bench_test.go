package cachex

import (
	"context"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testenv"
)

var benchUser = user{ID: 42, Name: "Ann Example", Email: "ann@example.com", Tags: []string{"admin", "beta"}, Score: 9.5}

func BenchmarkGetLocalHit(b *testing.B) {
	ctx := context.Background()
	c := newCache[user](b)
	_ = c.Set(ctx, "u", benchUser, time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, "u"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGetOrLoadLocalHit(b *testing.B) {
	ctx := context.Background()
	c := newCache[user](b)
	load := func(context.Context) (user, error) { return benchUser, nil }
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetOrLoad(ctx, "u", time.Hour, load); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGetRedisHit(b *testing.B) {
	ctx := context.Background()
	r := testenv.NewRedis(b)
	c := newCache[user](b, WithRedis(r.Client), WithPrefix(r.Prefix), WithoutLocal())
	_ = c.Set(ctx, "u", benchUser, time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, "u"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
