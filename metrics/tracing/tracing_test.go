package tracing

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"

	"github.com/covetgo/covet/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup returns a chi router traced into a span recorder, and the registry
// of its metrics.
func setup(t *testing.T, sampler sdktrace.Sampler, routes func(chi.Router)) (*chi.Mux, *tracetest.SpanRecorder, *prometheus.Registry, *Tracer) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(sampler))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr, err := New(tp)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.WithTracer(tr))
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(m.Handler)
	routes(r)
	return r, sr, reg, tr
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value.String()
	}
	return out
}

func TestServerSpan(t *testing.T) {
	r, sr, _, _ := setup(t, sdktrace.AlwaysSample(), func(r chi.Router) {
		r.Route("/api", func(r chi.Router) {
			r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {})
		})
		r.Get("/fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
		r.Get("/gone", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
		r.Get("/err", func(w http.ResponseWriter, r *http.Request) {
			metrics.RecordError(r.Context(), errors.New("database is down"))
			w.WriteHeader(http.StatusServiceUnavailable)
		})
	})
	tests := []struct {
		target     string
		name       string
		route      string
		status     string
		code       codes.Code
		desc       string
		wantEvents int
	}{
		{"/api/users/42", "GET /api/users/{id}", "/api/users/{id}", "200", codes.Unset, "", 0},
		{"/api/users/43", "GET /api/users/{id}", "/api/users/{id}", "200", codes.Unset, "", 0},
		{"/no/such/path", "GET unmatched", "unmatched", "404", codes.Unset, "", 0},
		{"/gone", "GET /gone", "/gone", "404", codes.Unset, "", 0},
		{"/fail", "GET /fail", "/fail", "502", codes.Error, "", 0},
		{"/err", "GET /err", "/err", "503", codes.Error, "database is down", 1},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			sr.Reset()
			r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tt.target, nil))
			spans := sr.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans ended; want 1", len(spans))
			}
			s := spans[0]
			a := attrs(s)
			if s.Name() != tt.name || s.SpanKind() != trace.SpanKindServer {
				t.Errorf("span = %q kind %v; want %q server", s.Name(), s.SpanKind(), tt.name)
			}
			if a["http.route"] != tt.route || a["http.response.status_code"] != tt.status ||
				a["http.request.method"] != "GET" || a["url.path"] != tt.target || a["url.scheme"] != "http" {
				t.Errorf("attributes = %v; want route %s status %s path %s", a, tt.route, tt.status, tt.target)
			}
			if s.Status().Code != tt.code || s.Status().Description != tt.desc {
				t.Errorf("status = %+v; want %v %q", s.Status(), tt.code, tt.desc)
			}
			if len(s.Events()) != tt.wantEvents {
				t.Errorf("%d events; want %d", len(s.Events()), tt.wantEvents)
			}
		})
	}
}

func TestServeMuxSpanName(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr, _ := New(tp)
	m, err := metrics.New(prometheus.NewRegistry(), metrics.WithTracer(tr))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders/{id}/items", func(w http.ResponseWriter, r *http.Request) {})
	m.Handler(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/orders/9/items", nil))
	if got := sr.Ended(); len(got) != 1 || got[0].Name() != "POST /orders/{id}/items" {
		t.Fatalf("spans = %v; want one named POST /orders/{id}/items", got)
	}
}

func TestContinuesIncomingTrace(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0736ae-00f067aa0ba902b7-01"
	var handlerTraceID string
	r, sr, _, _ := setup(t, sdktrace.ParentBased(sdktrace.NeverSample()), func(r chi.Router) {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) { handlerTraceID = TraceID(r.Context()) })
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", parent)
	r.ServeHTTP(httptest.NewRecorder(), req)
	spans := sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans; want 1 (the sampled parent decides)", len(spans))
	}
	s := spans[0]
	if got := s.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0736ae" || handlerTraceID != got {
		t.Errorf("trace ID = %s, handler saw %s; want the incoming one", got, handlerTraceID)
	}
	if got := s.Parent().SpanID().String(); got != "00f067aa0ba902b7" || !s.Parent().IsRemote() {
		t.Errorf("parent = %s remote %v; want the incoming span", got, s.Parent().IsRemote())
	}

	// An unsampled parent is not traced and gives no exemplar ID.
	sr.Reset()
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", strings.TrimSuffix(parent, "01")+"00")
	r.ServeHTTP(httptest.NewRecorder(), req)
	if len(sr.Ended()) != 0 || handlerTraceID != "" {
		t.Errorf("unsampled parent: %d spans, trace ID %q; want none", len(sr.Ended()), handlerTraceID)
	}
}

func TestPanicRecorded(t *testing.T) {
	r, sr, _, _ := setup(t, sdktrace.AlwaysSample(), func(r chi.Router) {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	})
	func() {
		defer func() { _ = recover() }()
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	spans := sr.Ended()
	if len(spans) != 1 || spans[0].Status().Code != codes.Error || spans[0].Status().Description != "panic: boom" {
		t.Fatalf("spans = %v; want one with status Error 'panic: boom'", spans)
	}
}

func TestExemplarsInOpenMetrics(t *testing.T) {
	r, sr, reg, _ := setup(t, sdktrace.AlwaysSample(), func(r chi.Router) {
		r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {})
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/users/1", nil))
	traceID := sr.Ended()[0].SpanContext().TraceID().String()
	h, err := metrics.Handler(reg)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Body)
	want := `# {trace_id="` + traceID + `"}`
	found := false
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, metrics.DurationName+"_bucket{") && strings.Contains(line, want) {
			found = true
		}
	}
	if !found {
		t.Errorf("no duration bucket with exemplar %s in:\n%s", want, body)
	}
}

func TestNoopProvider(t *testing.T) {
	tr, err := New(noop.NewTracerProvider())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0736ae-00f067aa0ba902b7-01")
	if got := tr.Start(ctx, req); got != ctx {
		t.Error("Start with a no-op provider changed the context")
	}
	if id := tr.End(ctx, metrics.RequestEnd{}); id != "" {
		t.Errorf("End = %q; want \"\"", id)
	}
	if rt := tr.Transport(nil); rt != http.DefaultTransport {
		t.Errorf("Transport(nil) = %T; want http.DefaultTransport itself", rt)
	}
}

func TestNewInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		tp   trace.TracerProvider
		opts []Option
	}{
		{"nil provider", nil, nil},
		{"nil propagator", noop.NewTracerProvider(), []Option{WithPropagator(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New(tt.tp, tt.opts...)
			if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "tracing: ") {
				t.Fatalf("New() = %v, %v; want a tracing: ErrInvalidConfig", tr, err)
			}
		})
	}
	if _, err := New(noop.NewTracerProvider(), nil, WithPropagator(propagation.TraceContext{})); err != nil {
		t.Errorf("New with a nil option: %v", err)
	}
}

func TestSpanNameCacheFull(t *testing.T) {
	c := nameCache{max: 1}
	if got := c.name("GET", "/a"); got != "GET /a" {
		t.Errorf("name = %q", got)
	}
	if got := c.name("GET", "/b"); got != "GET /b" {
		t.Errorf("name past the cache bound = %q", got)
	}
	if got := c.name("GET", "/a"); got != "GET /a" {
		t.Errorf("cached name = %q", got)
	}
}
