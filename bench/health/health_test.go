// Package healthbench compares covet's readiness handler with
// alexliesenfeld/health, both with two cached passing checks, in the same
// harness: b.RunParallel, an httptest recorder and request built in the loop.
package healthbench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	alex "github.com/alexliesenfeld/health"

	"github.com/covetgo/covet/health"
)

func ok(context.Context) error { return nil }

func run(b *testing.B, h http.Handler) {
	b.Helper()
	// Warm the cache and check the handler answers.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("warm-up: code %d: %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/ready", nil)
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("code %d", rec.Code)
			}
		}
	})
	// CPU time per request, summed over the parallel goroutines (and GC).
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkBare is the baseline: a handler that writes a small JSON body.
func BenchmarkBare(b *testing.B) {
	body := []byte(`{"status":"pass"}`)
	run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}))
}

// BenchmarkCovet: two critical checks, results cached for 1 s.
func BenchmarkCovet(b *testing.B) {
	c, err := health.New(
		health.WithCacheTTL(time.Second),
		health.WithCheck("database", ok, health.WithTimeout(2*time.Second)),
		health.WithCheck("redis", ok, health.WithTimeout(2*time.Second)),
	)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	run(b, c.Readiness())
}

// BenchmarkAlexliesenfeld: the same two checks, results cached for 1 s.
func BenchmarkAlexliesenfeld(b *testing.B) {
	checker := alex.NewChecker(
		alex.WithCacheDuration(time.Second),
		alex.WithTimeout(2*time.Second),
		alex.WithCheck(alex.Check{Name: "database", Check: ok, Timeout: 2 * time.Second}),
		alex.WithCheck(alex.Check{Name: "redis", Check: ok, Timeout: 2 * time.Second}),
	)
	run(b, alex.NewHandler(checker))
}
