package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func benchChecker(b *testing.B) *Checker {
	b.Helper()
	c, err := New(WithCacheTTL(time.Hour), WithCheck("database", pass), WithCheck("redis", pass))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

func benchHandler(b *testing.B, h http.Handler, target string) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("code %d", rec.Code)
			}
		}
	})
}

func BenchmarkReadinessCached(b *testing.B) {
	benchHandler(b, benchChecker(b).Readiness(), "/ready")
}

func BenchmarkReadinessVerbose(b *testing.B) {
	benchHandler(b, benchChecker(b).Readiness(), "/ready?verbose")
}

func BenchmarkReadinessOneCheck(b *testing.B) {
	mux := http.NewServeMux()
	mux.Handle("GET /ready/{check}", benchChecker(b).Readiness())
	benchHandler(b, mux, "/ready/database")
}

func BenchmarkLiveness(b *testing.B) {
	benchHandler(b, benchChecker(b).Liveness(), "/health")
}

// BenchmarkRun is the cost of one uncached run of two checks.
func BenchmarkRun(b *testing.B) {
	c, err := New(WithCacheTTL(0), WithCheck("database", pass), WithCheck("redis", pass))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Report(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
