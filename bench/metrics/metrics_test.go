package metricsbench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/covetgo/covet/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	slokprom "github.com/slok/go-http-metrics/metrics/prometheus"
	slokmw "github.com/slok/go-http-metrics/middleware"
	slokstd "github.com/slok/go-http-metrics/middleware/std"
)

var body = []byte(`{"id":42,"name":"widget","price":9.5}`)

// bare is the handler every variant wraps.
func bare() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// cpuTime returns the CPU time the process has used. On a shared machine
// wall time per op swings with other load; CPU time per op much less so.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(b *testing.B, h http.Handler) {
	b.Helper()
	b.ReportAllocs()
	start := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/items/42", nil)
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func covet(b *testing.B, opts ...metrics.Option) http.Handler {
	b.Helper()
	m, err := metrics.New(prometheus.NewRegistry(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	return m.Handler(bare())
}

// promhttpChain is the instrumentation promhttp's documentation suggests:
// in-flight gauge, counter, duration and response size, by code and method.
func promhttpChain(b *testing.B) http.Handler {
	b.Helper()
	reg := prometheus.NewRegistry()
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "in_flight_requests", Help: "x"})
	counter := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "api_requests_total", Help: "x"}, []string{"code", "method"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "request_duration_seconds", Help: "x", Buckets: prometheus.DefBuckets}, []string{"code", "method"})
	size := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "response_size_bytes", Help: "x", Buckets: prometheus.ExponentialBuckets(100, 10, 8)}, []string{"code", "method"})
	reg.MustRegister(inFlight, counter, duration, size)
	return promhttp.InstrumentHandlerInFlight(inFlight,
		promhttp.InstrumentHandlerCounter(counter,
			promhttp.InstrumentHandlerDuration(duration,
				promhttp.InstrumentHandlerResponseSize(size, bare()))))
}

func slok(b *testing.B) http.Handler {
	b.Helper()
	mdlw := slokmw.New(slokmw.Config{
		Recorder: slokprom.NewRecorder(slokprom.Config{Registry: prometheus.NewRegistry()}),
	})
	// A fixed handler ID: the default, the raw path, is unbounded.
	return slokstd.Handler("/items/{id}", mdlw, bare())
}

func BenchmarkMetrics(b *testing.B) {
	b.Run("bare", func(b *testing.B) { run(b, bare()) })
	b.Run("covet", func(b *testing.B) { run(b, covet(b)) })
	b.Run("promhttp", func(b *testing.B) { run(b, promhttpChain(b)) })
	b.Run("slok", func(b *testing.B) { run(b, slok(b)) })
	b.Run("covet+accesslog", func(b *testing.B) {
		run(b, covet(b, metrics.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))))
	})
}

// discardWriter is a reusable ResponseWriter that keeps nothing, so that
// BenchmarkOverhead measures the middleware rather than the harness.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) Flush()                      {}

// runReused serves one request per iteration with a writer and request
// reused per goroutine: the bare handler costs tens of nanoseconds, so a
// middleware's overhead stands out of the machine's noise.
func runReused(b *testing.B, h http.Handler) {
	b.Helper()
	b.ReportAllocs()
	start := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		r := httptest.NewRequest(http.MethodGet, "/items/42", nil)
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkOverhead(b *testing.B) {
	b.Run("bare", func(b *testing.B) { runReused(b, bare()) })
	b.Run("covet", func(b *testing.B) { runReused(b, covet(b)) })
	b.Run("promhttp", func(b *testing.B) { runReused(b, promhttpChain(b)) })
	b.Run("slok", func(b *testing.B) { runReused(b, slok(b)) })
}
