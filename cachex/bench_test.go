package cachex

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
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
	c := newCache[user](b, onRedis(b, r.Client, r.Prefix), WithoutLocal())
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

func BenchmarkHTTPHit(b *testing.B) {
	store := newCache[Response](b)
	hc, err := NewHTTPCache(store, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	benchHTTPHit(b, hc)
}

// BenchmarkHTTPHitTagged is a hit on a tagged response with a Redis shared
// tier: served in process, its tag versions too, with no call to Redis.
func BenchmarkHTTPHitTagged(b *testing.B) {
	r := testenv.NewRedis(b)
	store := newCache[Response](b, onRedis(b, r.Client, r.Prefix))
	subscribed(b, store)
	hc, err := NewHTTPCache(store, time.Minute, WithTags(func(*http.Request) []string {
		return []string{"users", "user:42"}
	}))
	if err != nil {
		b.Fatal(err)
	}
	benchHTTPHit(b, hc)
}

func benchHTTPHit(b *testing.B, hc *HTTPCache) {
	h := hc.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":42,"name":"Ann Example"}`))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/42?b=2&a=1", nil))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/users/42?b=2&a=1", nil))
			if w.Header().Get("X-Cache") != "HIT" {
				b.Fatal("not a hit")
			}
		}
	})
}
