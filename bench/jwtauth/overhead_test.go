package jwtauthbench

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discard is a ResponseWriter that keeps only its header map and the status
// written, both cleared per request, so that the middleware's own cost is not
// buried under the recorder's.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// empty is the handler the middleware-alone arms wrap: it writes nothing, so
// a request the middleware lets through leaves the status at 0.
var empty = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// runQuiet reuses one request and one writer per goroutine: what is left
// over the bare arm is the middleware's own work.
func runQuiet(b *testing.B, h http.Handler, token string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := &discard{h: make(http.Header)}
		for pb.Next() {
			clear(w.h)
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != 0 {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkOverhead is the middleware alone: an empty handler behind each
// middleware, the same HS256 token for both.
func BenchmarkOverhead(b *testing.B) {
	covet, token := newCovet(b, empty)
	b.Run("bare", func(b *testing.B) { runQuiet(b, empty, token) })
	b.Run("covet", func(b *testing.B) { runQuiet(b, covet, token) })
	b.Run("go-chi-jwtauth", func(b *testing.B) { runQuiet(b, newChi(empty), token) })
}
