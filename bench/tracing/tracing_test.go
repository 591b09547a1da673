package tracingbench

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/tracing"
)

var body = []byte(`{"id":42,"name":"widget","price":9.5}`)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard is an exporter that drops spans, so the figures measure the
// instrumentation and the SDK, not a network.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// stack is the chi router with the metrics middleware (and its access log
// to io.Discard), optionally tracing with tr.
func stack(b *testing.B, tr *tracing.Tracer) http.Handler {
	opts := []metrics.Option{metrics.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))}
	if tr != nil {
		opts = append(opts, metrics.WithTracer(tr))
	}
	m, err := metrics.New(prometheus.NewRegistry(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return r
}

func provider(b *testing.B) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

func newTracer(b *testing.B, tp trace.TracerProvider) *tracing.Tracer {
	tr, err := tracing.New(tp)
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

func run(b *testing.B, h http.Handler) {
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

// BenchmarkTracing runs the four variants side by side; run with
// -count to interleave rounds.
func BenchmarkTracing(b *testing.B) {
	b.Run("stack", func(b *testing.B) { run(b, stack(b, nil)) })
	b.Run("off", func(b *testing.B) { run(b, stack(b, newTracer(b, noop.NewTracerProvider()))) })
	b.Run("on", func(b *testing.B) { run(b, stack(b, newTracer(b, provider(b)))) })
	b.Run("otelhttp", func(b *testing.B) {
		tp := provider(b)
		run(b, otelhttp.NewHandler(stack(b, nil), "server", otelhttp.WithTracerProvider(tp)))
	})
}
