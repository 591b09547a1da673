package tracing_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/tracing"
)

// A chi service whose requests are traced and whose log lines carry the
// request's IDs.
func Example() {
	spans := tracetest.NewSpanRecorder() // a real program uses an exporter
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	tr, err := tracing.New(tp)
	if err != nil {
		panic(err)
	}
	m, err := metrics.New(prometheus.NewRegistry(), metrics.WithTracer(tr))
	if err != nil {
		panic(err)
	}
	lh, err := tracing.NewLogHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "trace_id", "span_id":
				return slog.Attr{} // random or changing: left out of the output
			}
			return a
		},
	}))
	if err != nil {
		panic(err)
	}
	logger := slog.New(lh)

	r := chi.NewRouter()
	r.Use(metrics.RequestID, m.Handler)
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "loading user", "id", chi.URLParam(r, "id"))
	})
	req := httptest.NewRequest(http.MethodGet, "/users/42", nil)
	req.Header.Set("X-Request-ID", "req-1")
	r.ServeHTTP(httptest.NewRecorder(), req)

	for _, s := range spans.Ended() {
		fmt.Println("span:", s.Name())
	}
	// Output:
	// level=INFO msg="loading user" id=42 request_id=req-1
	// span: GET /users/{id}
}

// Outgoing requests carry the trace to the service they call.
func ExampleTracer_Transport() {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr, err := tracing.New(tp)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("traceparent sent:", len(r.Header.Get("traceparent")) == 55)
	}))
	defer srv.Close()

	client := &http.Client{Transport: tr.Transport(srv.Client().Transport)}
	ctx, span := tp.Tracer("app").Start(context.Background(), "job")
	defer span.End()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	_ = resp.Body.Close()
	// Output: traceparent sent: true
}
