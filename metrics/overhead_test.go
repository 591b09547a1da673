package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkOverhead measures the middleware alone: the request and the
// server's writer are built once per goroutine and reused.
func BenchmarkOverhead(b *testing.B) {
	mux := http.NewServeMux()
	mux.Handle("GET /users/{id}", benchHandler())
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"servemux", func() http.Handler {
			m, err := New(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			return m.Handler(mux)
		}()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest(http.MethodGet, "/users/42", nil)
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					bc.h.ServeHTTP(w, r)
				}
			})
		})
	}
}
