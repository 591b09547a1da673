package ratelimitbench

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// discard is a ResponseWriter that keeps only its header map, cleared per
// request, so that the middleware's own cost is not buried under the
// recorder's.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

var bareQuiet = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

// runQuiet reuses one request and one writer per goroutine.
func runQuiet(b *testing.B, h http.Handler, many bool) {
	b.Helper()
	if many {
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
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		w := &discard{h: make(http.Header)}
		for pb.Next() {
			if many {
				i++
				r.RemoteAddr = addrs[i%manyKeys]
			}
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
	reportCPU(b, c0)
}

func BenchmarkOverhead(b *testing.B) {
	for _, many := range []bool{false, true} {
		name := "one-key"
		if many {
			name = "100k-keys"
		}
		b.Run(name+"/bare", func(b *testing.B) { runQuiet(b, bareQuiet, many) })
		b.Run(name+"/covet", func(b *testing.B) { runQuiet(b, covetWith(b, bareQuiet), many) })
		b.Run(name+"/httprate", func(b *testing.B) { runQuiet(b, chiHTTPRateWith(bareQuiet), many) })
		b.Run(name+"/ulule", func(b *testing.B) { runQuiet(b, ululeMemoryWith(bareQuiet), many) })
	}
}
