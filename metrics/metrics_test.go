package metrics

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

func TestNewInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		reg  prometheus.Registerer
		opts []Option
	}{
		{"nil registerer", nil, nil},
		{"no buckets", prometheus.NewRegistry(), []Option{WithBuckets()}},
		{"unsorted buckets", prometheus.NewRegistry(), []Option{WithBuckets(1, 0.5)}},
		{"equal size buckets", prometheus.NewRegistry(), []Option{WithSizeBuckets(10, 10)}},
		{"clashing const label", prometheus.NewRegistry(), []Option{WithConstLabels(prometheus.Labels{"endpoint": "x"})}},
		{"nil trace ID function", prometheus.NewRegistry(), []Option{WithTraceID(nil)}},
		{"nil logger", prometheus.NewRegistry(), []Option{WithLogger(nil)}},
		{"nil level", prometheus.NewRegistry(), []Option{WithLevel(nil)}},
		{"empty redacted name", prometheus.NewRegistry(), []Option{WithRedactedQuery("")}},
		{"level without logger", prometheus.NewRegistry(), []Option{WithLevel(DefaultLevel)}},
		{"redaction without logger", prometheus.NewRegistry(), []Option{WithRedactedQuery("otp")}},
		{"nil tracer", prometheus.NewRegistry(), []Option{WithTracer(nil)}},
		{"nil error hook", prometheus.NewRegistry(), []Option{WithErrorHook(nil)}},
		{"typed nil registerer", (*prometheus.Registry)(nil), nil},
		{"typed nil tracer", prometheus.NewRegistry(), []Option{WithTracer((*nilTracer)(nil))}},
		{"nil router", prometheus.NewRegistry(), []Option{WithRouter(nil)}},
		{"typed nil router", prometheus.NewRegistry(), []Option{WithRouter((*chiRouter)(nil))}},
		{"nil ServeMux", prometheus.NewRegistry(), []Option{WithServeMux(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.reg, tt.opts...)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New() = %v, %v; want ErrInvalidConfig", m, err)
			}
			if name := strings.TrimPrefix(strings.TrimPrefix(tt.name, "typed "), "nil "); strings.HasPrefix(tt.name, "nil") || strings.HasPrefix(tt.name, "typed nil") {
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(name)) {
					t.Errorf("error %q does not name the %s", err, name)
				}
			}
			if !strings.HasPrefix(err.Error(), "metrics: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestNewSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(reg, nil, WithBuckets(0.1, 1)) // a nil option is ignored
	if err != nil {
		t.Fatalf("second New on one registry: %v", err)
	}
	serve(a.Handler(http.NotFoundHandler()), http.MethodGet, "/")
	serve(b.Handler(http.NotFoundHandler()), http.MethodGet, "/")
	if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status=404"); got != 2 {
		t.Errorf("shared counter = %v; want 2", got)
	}
}

func TestNewRegisterConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: RequestsTotalName, Help: "x"}))
	if _, err := New(reg); !errors.Is(err, ErrRegister) {
		t.Fatalf("New() error = %v; want ErrRegister", err)
	}
	for _, name := range []string{DurationName, ResponseSizeName, InFlightName} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "x"}))
		if _, err := New(reg); !errors.Is(err, ErrRegister) {
			t.Errorf("New() with %s taken: error = %v; want ErrRegister", name, err)
		}
	}
}

func TestMiddlewareServeMux(t *testing.T) {
	clock := testenv.NewStepClock(time.Unix(0, 0), 250*time.Millisecond)
	m, reg := newTestMiddleware(t, withNow(clock.Now), WithConstLabels(prometheus.Labels{"service": "api"}))
	var inFlight float64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		inFlight = metric(t, reg, InFlightName, "service=api").GetGauge().GetValue()
		_, _ = w.Write([]byte("hello"))
	})
	mux.HandleFunc("POST example.com/users", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	h := m.Handler(mux)

	serve(h, http.MethodGet, "/users/42")
	serve(h, http.MethodGet, "/users/43")
	serve(h, http.MethodPost, "http://example.com/users")

	if inFlight != 1 {
		t.Errorf("in flight during request = %v; want 1", inFlight)
	}
	if got := metric(t, reg, InFlightName, "service=api").GetGauge().GetValue(); got != 0 {
		t.Errorf("in flight after = %v; want 0", got)
	}
	if got := counterValue(t, reg, "endpoint=/users/{id},method=GET,service=api,status=200"); got != 2 {
		t.Errorf("GET counter = %v; want 2", got)
	}
	if got := counterValue(t, reg, "endpoint=example.com/users,method=POST,service=api,status=201"); got != 1 {
		t.Errorf("POST counter = %v; want 1", got)
	}
	d := metric(t, reg, DurationName, "endpoint=/users/{id},method=GET,service=api").GetHistogram()
	if d.GetSampleCount() != 2 || d.GetSampleSum() != 0.5 {
		t.Errorf("duration count, sum = %d, %v; want 2, 0.5", d.GetSampleCount(), d.GetSampleSum())
	}
	s := metric(t, reg, ResponseSizeName, "endpoint=/users/{id},method=GET,service=api").GetHistogram()
	if s.GetSampleSum() != 10 {
		t.Errorf("size sum = %v; want 10", s.GetSampleSum())
	}
}

func TestMiddlewareChi(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	routes := func(r chi.Router) {
		r.Get("/", ok)
		r.Get("/users/{id}", ok)
		r.Route("/api", func(r chi.Router) {
			r.Get("/items/{id}", ok)
			r.Route("/v2", func(r chi.Router) {
				r.Get("/items/{id}/", ok)
			})
		})
		r.Mount("/files", http.StripPrefix("/files", http.HandlerFunc(ok)))
	}
	tests := []struct {
		target, endpoint string
	}{
		{"/", "/"},
		{"/users/1", "/users/{id}"},
		{"/api/items/7", "/api/items/{id}"},
		{"/api/v2/items/7/", "/api/v2/items/{id}"},
		{"/files/a/b", "/files/*"},
		{"/nope", UnmatchedEndpoint},
	}
	build := map[string]func(m *Middleware) http.Handler{
		"use": func(m *Middleware) http.Handler {
			r := chi.NewRouter()
			r.Use(m.Handler)
			routes(r)
			return r
		},
		"outside": func(m *Middleware) http.Handler {
			r := chi.NewRouter()
			routes(r)
			return m.Handler(r)
		},
	}
	for name, mk := range build {
		t.Run(name, func(t *testing.T) {
			m, reg := newTestMiddleware(t)
			h := mk(m)
			for _, tt := range tests {
				w := serve(h, http.MethodGet, tt.target)
				status := fmt.Sprint(w.Code)
				if got := counterValue(t, reg, "endpoint="+tt.endpoint+",method=GET,status="+status); got != 1 {
					t.Errorf("GET %s: counter{endpoint=%q} = %v; want 1", tt.target, tt.endpoint, got)
				}
			}
		})
	}
}

func TestMiddlewareMethods(t *testing.T) {
	m, reg := newTestMiddleware(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})
	h := m.Handler(mux)
	for _, method := range methodNames[:len(methodNames)-1] {
		serve(h, method, "/")
	}
	for _, method := range []string{"FOO", "PROPFIND", "get", "OTHER"} {
		serve(h, method, "/")
	}
	for _, method := range methodNames[:len(methodNames)-1] {
		if got := counterValue(t, reg, "endpoint=/,method="+method+",status=200"); got != 1 {
			t.Errorf("counter{method=%s} = %v; want 1", method, got)
		}
	}
	if got := counterValue(t, reg, "endpoint=/,method=OTHER,status=200"); got != 4 {
		t.Errorf("counter{method=OTHER} = %v; want 4", got)
	}
}

// TestCardinality sends 10,000 requests with random paths and methods and
// checks that the number of series stays what the first round created.
func TestCardinality(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {}
	r := chi.NewRouter()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", ok)
	mux.HandleFunc("/static/", ok)
	m, reg := newTestMiddleware(t)
	r.Use(m.Handler)
	r.Get("/users/{id}", ok)
	r.Route("/api", func(r chi.Router) { r.Get("/items/{id}", ok) })
	routers := []http.Handler{r, m.Handler(mux)}
	methods := []string{http.MethodGet, http.MethodPost, "FOO", "BAR"}
	rng := rand.New(rand.NewPCG(1, 2))
	randPath := func(segments int) string {
		var b strings.Builder
		for range segments {
			b.WriteByte('/')
			for range 1 + rng.IntN(12) {
				b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789-_~"[rng.IntN(39)])
			}
		}
		return b.String()
	}
	prefixes := []string{"", "/users", "/api/items", "/api", "/static"}
	// Warm up with every shape of request once: router, method, prefix
	// and number of segments decide the labels, the random names do not.
	for _, h := range routers {
		for _, method := range methods {
			for _, p := range prefixes {
				for segments := 1; segments <= 4; segments++ {
					serve(h, method, p+randPath(segments))
				}
			}
		}
	}
	before := seriesCount(t, reg)
	for range 10_000 {
		target := prefixes[rng.IntN(len(prefixes))] + randPath(1+rng.IntN(4))
		serve(routers[rng.IntN(len(routers))], methods[rng.IntN(len(methods))], target)
	}
	if after := seriesCount(t, reg); after != before {
		t.Fatalf("series after 10,000 random paths = %d; want %d (as after warm-up)\n%v",
			after, before, labelSets(t, reg, RequestsTotalName))
	}
	// 5 endpoint values for chi, 3 for ServeMux, 3 methods, a few statuses:
	// a bound set by the routes, not by the traffic.
	if before > 60 {
		t.Errorf("series = %d; want a route-bound number", before)
	}
	if got := m.core.inst.series.len(); got > before {
		t.Errorf("cached series = %d; want at most %d", got, before)
	}
}

func TestMiddlewareStatus(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  string
		bytes   float64
	}{
		{"implicit 200", func(w http.ResponseWriter, r *http.Request) {}, "200", 0},
		{"write", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("abc")) }, "200", 3},
		{"teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }, "418", 0},
		{"informational then 204", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNoContent)
		}, "204", 0},
		{"second WriteHeader ignored", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			w.WriteHeader(http.StatusInternalServerError)
		}, "202", 0},
		{"panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") }, "500", 0},
		{"panic after write", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusPartialContent)
			panic("boom")
		}, "206", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newTestMiddleware(t)
			h := m.Handler(tt.handler)
			func() {
				defer func() { _ = recover() }()
				serve(h, http.MethodGet, "/")
			}()
			if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status="+tt.status); got != 1 {
				t.Errorf("counter{status=%s} = %v; want 1", tt.status, got)
			}
			size := metric(t, reg, ResponseSizeName, "endpoint=unmatched,method=GET").GetHistogram()
			if size.GetSampleSum() != tt.bytes {
				t.Errorf("size = %v; want %v", size.GetSampleSum(), tt.bytes)
			}
			if got := metric(t, reg, InFlightName, "").GetGauge().GetValue(); got != 0 {
				t.Errorf("in flight = %v; want 0", got)
			}
		})
	}
}

func TestExemplars(t *testing.T) {
	type key struct{}
	trace := func(ctx context.Context) string { s, _ := ctx.Value(key{}).(string); return s }
	m, reg := newTestMiddleware(t, WithTraceID(trace))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	do := func(id string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if id != "" {
			r = r.WithContext(context.WithValue(r.Context(), key{}, id))
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	do("4bf92f3577b34da6a3ce929d0e0e4736")
	c := metric(t, reg, RequestsTotalName, "endpoint=unmatched,method=GET,status=200").GetCounter()
	if got := c.GetExemplar().GetLabel(); len(got) != 1 || got[0].GetValue() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("counter exemplar = %v; want the trace ID", got)
	}
	hist := metric(t, reg, DurationName, "endpoint=unmatched,method=GET").GetHistogram()
	found := false
	for _, b := range hist.GetBucket() {
		if b.GetExemplar() != nil {
			found = true
		}
	}
	if !found {
		t.Errorf("duration histogram has no exemplar")
	}
	// Trace IDs that client_golang would reject are skipped, not a panic.
	do(strings.Repeat("a", 200))
	do("\xff\xfe")
	do("")
	if got := c.GetValue(); got != 1 {
		t.Fatalf("stale read = %v", got)
	}
	if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status=200"); got != 4 {
		t.Errorf("counter = %v; want 4", got)
	}
}

func TestNativeHistograms(t *testing.T) {
	m, reg := newTestMiddleware(t, WithNativeHistograms(), WithSizeBuckets(1, 10))
	serve(m.Handler(http.NotFoundHandler()), http.MethodGet, "/")
	h := metric(t, reg, DurationName, "endpoint=unmatched,method=GET").GetHistogram()
	if h.Schema == nil {
		t.Errorf("duration histogram has no native schema")
	}
	if n := len(h.GetBucket()); n != len(prometheus.DefBuckets) {
		t.Errorf("classic buckets = %d; want %d", n, len(prometheus.DefBuckets))
	}
	s := metric(t, reg, ResponseSizeName, "endpoint=unmatched,method=GET").GetHistogram()
	if n := len(s.GetBucket()); n != 2 {
		t.Errorf("size buckets = %d; want 2", n)
	}
}

func TestSeriesCacheFull(t *testing.T) {
	m, reg := newTestMiddleware(t)
	m.core.inst.series.max = 1
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) {})
	h := m.Handler(mux)
	for range 3 {
		serve(h, http.MethodGet, "/a")
		serve(h, http.MethodGet, "/b")
	}
	if got := m.core.inst.series.len(); got != 1 {
		t.Errorf("cached = %d; want 1", got)
	}
	for _, e := range []string{"/a", "/b"} {
		if got := counterValue(t, reg, "endpoint="+e+",method=GET,status=200"); got != 3 {
			t.Errorf("counter{%s} = %v; want 3", e, got)
		}
	}
}

func TestEndpointLabel(t *testing.T) {
	tests := []struct {
		raw  string
		src  uint8
		want string
	}{
		{"/users/{id}", srcRouter, "/users/{id}"},
		{"/api/*/items/", srcRouter, "/api/items"},
		{"/", srcRouter, "/"},
		{"//", srcRouter, UnmatchedEndpoint},
		{"GET /users/{id}", srcMux, "/users/{id}"},
		{"GET  example.com/", srcMux, "example.com/"},
		{"/static/", srcMux, "/static/"},
		{"", srcNone, UnmatchedEndpoint},
	}
	c := &core{router: chiRouter{}}
	for _, tt := range tests {
		if got := c.endpointLabel(tt.raw, tt.src); got != tt.want {
			t.Errorf("endpointLabel(%q, %d) = %q; want %q", tt.raw, tt.src, got, tt.want)
		}
	}
}

// TestExemplarEvery: the counter and each duration bucket take a new
// exemplar at most every exemplarEvery; other buckets are not held back.
func TestExemplarEvery(t *testing.T) {
	m, reg := newTestMiddleware(t)
	s := m.core.inst.lookup(&m.core, 0, 200, false, "/items", srcMux)
	const fast, slow = 2 * time.Millisecond, 3 * time.Second
	exemplars := func() (counter string, buckets map[float64]string) {
		t.Helper()
		c := metric(t, reg, RequestsTotalName, "endpoint=/items,method=GET,status=200").GetCounter()
		if l := c.GetExemplar().GetLabel(); len(l) == 1 {
			counter = l[0].GetValue()
		}
		buckets = map[float64]string{}
		for _, b := range metric(t, reg, DurationName, "endpoint=/items,method=GET").GetHistogram().GetBucket() {
			if l := b.GetExemplar().GetLabel(); len(l) == 1 {
				buckets[b.GetUpperBound()] = l[0].GetValue()
			}
		}
		return counter, buckets
	}
	base := time.Second
	steps := []struct {
		at      time.Duration
		d       time.Duration
		id      string
		counter string
		fast    string // exemplar of the 5 ms bucket
		slow    string // exemplar of the 5 s bucket
	}{
		{base, fast, "a1", "a1", "a1", ""},
		{base + exemplarEvery/2, fast, "b2", "a1", "a1", ""},   // held back
		{base + exemplarEvery/2, slow, "c3", "a1", "a1", "c3"}, // another bucket
		{base + exemplarEvery, fast, "d4", "d4", "d4", "c3"},   // due again
		{base + exemplarEvery, slow, "e5", "d4", "d4", "c3"},   // held back
	}
	for i, st := range steps {
		s.observe(st.at, st.d, 1, st.id)
		c, b := exemplars()
		if c != st.counter || b[0.005] != st.fast || b[5] != st.slow {
			t.Fatalf("after step %d: counter %q, 5ms bucket %q, 5s bucket %q; want %q, %q, %q",
				i, c, b[0.005], b[5], st.counter, st.fast, st.slow)
		}
	}
	if got := counterValue(t, reg, "endpoint=/items,method=GET,status=200"); got != float64(len(steps)) {
		t.Errorf("counter = %v; want %d: a held-back exemplar still counts", got, len(steps))
	}
}

func TestInvalidUTF8Route(t *testing.T) {
	m, reg := newTestMiddleware(t)
	s := m.core.inst.lookup(&m.core, 0, 200, false, "/bad\xff", srcMux)
	if s.endpoint != UnmatchedEndpoint {
		t.Errorf("endpoint = %q; want %q", s.endpoint, UnmatchedEndpoint)
	}
	s.observe(time.Second, time.Second, 1, "")
	if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status=200"); got != 1 {
		t.Errorf("counter = %v; want 1", got)
	}
}

type nilTracer struct{}

func (*nilTracer) Start(ctx context.Context, _ *http.Request) context.Context { return ctx }
func (*nilTracer) End(context.Context, RequestEnd) string                     { return "" }

func TestTypedNilHelpers(t *testing.T) {
	if err := RegisterDB((*prometheus.Registry)(nil), nil, "x"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("RegisterDB(typed nil) = %v; want ErrInvalidConfig", err)
	}
	if _, err := NewWebSocketGauge((*prometheus.Registry)(nil)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewWebSocketGauge(typed nil) = %v; want ErrInvalidConfig", err)
	}
}
