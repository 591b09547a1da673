package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/covetgo/covet/metrics"
)

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(mustLogHandler(t, slog.NewJSONHandler(&buf, nil))).With("service", "test")
	var failures []metrics.Failure
	sr := newRecorderProvider(t)
	tr, _ := New(sr.tp)
	m, err := metrics.New(prometheusRegistry(), metrics.WithTracer(tr),
		metrics.WithErrorHook(func(_ context.Context, f metrics.Failure) { failures = append(failures, f) }))
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(metrics.RequestID, m.Handler)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(metrics.WithUserID(r.Context(), "u-1"))
		logger.InfoContext(r.Context(), "hello")
		logger.ErrorContext(r.Context(), "query failed", "err", errors.New("connection reset"), "table", "users")
		logger.Error("no context")
		w.WriteHeader(http.StatusInternalServerError)
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(metrics.RequestIDHeader, "req-1")
	r.ServeHTTP(httptest.NewRecorder(), req)

	span := sr.rec.Ended()[0]
	traceID, spanID := span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines; want 3:\n%s", len(lines), buf.String())
	}
	var recs []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	for i, rec := range recs[:2] {
		if rec["request_id"] != "req-1" || rec["user_id"] != "u-1" || rec["trace_id"] != traceID || rec["span_id"] != spanID || rec["service"] != "test" {
			t.Errorf("line %d = %v; want request, user, trace and span IDs", i, rec)
		}
	}
	if _, ok := recs[0]["source"]; ok {
		t.Errorf("info line has a source: %v", recs[0])
	}
	if src, _ := recs[1]["source"].(string); !strings.HasPrefix(src, "tracing/log_test.go:") {
		t.Errorf("error line source = %q; want tracing/log_test.go:N", src)
	}
	if _, ok := recs[2]["trace_id"]; ok {
		t.Errorf("line logged without context got request fields: %v", recs[2])
	}
	if len(failures) != 1 || failures[0].Err == nil || failures[0].Err.Error() != "connection reset" || failures[0].TraceID != traceID {
		t.Errorf("failures = %+v; want the logged error with the trace ID", failures)
	}
	if d := span.Status().Description; d != "connection reset" {
		t.Errorf("span status = %q; want the logged error", d)
	}
}

func TestLogHandlerPassThrough(t *testing.T) {
	var buf bytes.Buffer
	h := mustLogHandler(t, slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Enabled(info) = true under a warn-level handler")
	}
	logger := slog.New(h.WithGroup("g").WithAttrs([]slog.Attr{slog.Int("n", 1)}))
	ctx := metrics.WithRequestID(context.Background(), "r-2")
	logger.WarnContext(ctx, "x")
	if got := buf.String(); !strings.Contains(got, "g.n=1") || !strings.Contains(got, "g.request_id=r-2") {
		t.Errorf("line = %q; want the group's attribute and the request ID", got)
	}
}

type recorderProvider struct {
	tp  *sdktrace.TracerProvider
	rec *tracetest.SpanRecorder
}

func newRecorderProvider(t *testing.T) recorderProvider {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return recorderProvider{tp: tp, rec: rec}
}

func prometheusRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// keyCounts counts the top-level keys of one JSON object, duplicates
// included (a map would hide them).
func keyCounts(t *testing.T, line string) map[string]int {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line %q: %v %v", line, tok, err)
	}
	counts := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		counts[tok.(string)]++
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return counts
}

// TestAccessLogThroughLogHandler: the access log written through the log
// handler carries request_id, user_id, trace_id and span_id once each.
func TestAccessLogThroughLogHandler(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(mustLogHandler(t, slog.NewJSONHandler(&buf, nil)))
	sr := newRecorderProvider(t)
	tr, err := New(sr.tp)
	if err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(prometheusRegistry(), metrics.WithTracer(tr), metrics.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = metrics.WithUserID(r.Context(), "u-1")
		logger.ErrorContext(r.Context(), "inner", "err", errors.New("boom"))
		w.WriteHeader(http.StatusInternalServerError)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(metrics.RequestIDHeader, "req-1")
	h.ServeHTTP(httptest.NewRecorder(), req)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines; want 2:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		counts := keyCounts(t, l)
		for _, k := range []string{"request_id", "user_id", "trace_id", "span_id"} {
			if counts[k] != 1 {
				t.Errorf("%s appears %d times in %s", k, counts[k], l)
			}
		}
	}
}

func mustLogHandler(t *testing.T, next slog.Handler) slog.Handler {
	t.Helper()
	h, err := NewLogHandler(next)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNilDependencies(t *testing.T) {
	var jsonH *slog.JSONHandler
	if _, err := NewLogHandler(jsonH); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "next handler") {
		t.Errorf("NewLogHandler(typed nil) = %v; want ErrInvalidConfig naming next", err)
	}
	if _, err := NewLogHandler(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewLogHandler(nil) = %v; want ErrInvalidConfig", err)
	}
	var tp *sdktrace.TracerProvider
	if _, err := New(tp); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "tracer provider") {
		t.Errorf("New(typed nil provider) = %v; want ErrInvalidConfig naming the provider", err)
	}
}
