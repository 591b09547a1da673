// Package ratelimitbench compares covet's ratelimit with go-chi/httprate and
// ulule/limiter (memory stores, HTTP middleware keyed by client IP) and with
// go-redis/redis_rate and ulule's Redis store (decisions on 1000 keys).
//
// The HTTP harness is the shared one: b.RunParallel, an httptest recorder and
// request built in the loop; "bare" is the handler alone, so a limiter's
// overhead is its figure minus bare's from the same run. Every limit is high
// enough that all requests pass: the benchmarks measure the cost of the
// check, not of the 429 path.
package ratelimitbench

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	ulule "github.com/ulule/limiter/v3"
	ulstdlib "github.com/ulule/limiter/v3/drivers/middleware/stdlib"
	ulmemory "github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/covetgo/covet/ratelimit"
)

const (
	bigLimit = 1 << 30
	manyKeys = 100_000
)

var bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
})

// addrs are RemoteAddr values for the many-keys case.
var addrs = func() []string {
	a := make([]string, manyKeys)
	for i := range a {
		a[i] = "10." + strconv.Itoa(i>>16) + "." + strconv.Itoa((i>>8)&255) + "." + strconv.Itoa(i&255) + ":40000"
	}
	return a
}()

func run(b *testing.B, h http.Handler, many bool) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("warm-up: code %d: %s", rec.Code, rec.Body)
	}
	if many {
		// Measure the steady state of 100,000 known clients, not first
		// contact.
		for _, a := range addrs {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = a
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1) * 7919
		for pb.Next() {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if many {
				i++
				r.RemoteAddr = addrs[i%manyKeys]
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("code %d", w.Code)
				return
			}
		}
	})
	reportCPU(b, c0)
}

func covet(b *testing.B) http.Handler { return covetWith(b, bare) }

func covetWith(b *testing.B, next http.Handler) http.Handler {
	s, err := ratelimit.NewMemoryStore()
	if err != nil {
		b.Fatal(err)
	}
	l, err := ratelimit.New(s, ratelimit.Rate{Limit: bigLimit, Period: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	return l.Handler(next)
}

// chiHTTPRate keys by the peer address, canonicalised, as covet's default
// does when no ClientIPFrom… middleware ran.
func chiHTTPRate() http.Handler { return chiHTTPRateWith(bare) }

func chiHTTPRateWith(next http.Handler) http.Handler {
	return httprate.LimitBy(bigLimit, time.Minute, func(r *http.Request) (string, error) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return "", err
		}
		return httprate.CanonicalizeIP(host), nil
	})(next)
}

func ululeMemory() http.Handler { return ululeMemoryWith(bare) }

func ululeMemoryWith(next http.Handler) http.Handler {
	l := ulule.New(ulmemory.NewStore(), ulule.Rate{Period: time.Minute, Limit: bigLimit})
	return ulstdlib.NewMiddleware(l).Handler(next)
}

func BenchmarkMemory(b *testing.B) {
	for _, many := range []bool{false, true} {
		name := "one-key"
		if many {
			name = "100k-keys"
		}
		b.Run(name+"/bare", func(b *testing.B) { run(b, bare, many) })
		b.Run(name+"/covet", func(b *testing.B) { run(b, covet(b), many) })
		b.Run(name+"/httprate", func(b *testing.B) { run(b, chiHTTPRate(), many) })
		b.Run(name+"/ulule", func(b *testing.B) { run(b, ululeMemory(), many) })
	}
}
