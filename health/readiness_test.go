package health

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

func readinessChecker(t *testing.T, opts ...Option) *Checker {
	t.Helper()
	base := []Option{
		withNow(newFakeClock().Now),
		WithVersion("1.4.0"), WithReleaseID("1.4.0-abc"), WithServiceID("svc-1"), WithDescription("orders"),
		WithCheck("database", pass, WithComponentType("datastore")),
		WithCheck("cache", failWith("cache down"), WithCritical(false)),
		WithCheck("search", pass),
	}
	return mustNew(t, append(base, opts...)...)
}

func TestReadinessResponses(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		wantCode   int
		wantStatus Status
		wantKeys   []string
	}{
		{"all", "/ready", 200, StatusWarn, []string{"database:responseTime", "cache:responseTime", "search:responseTime"}},
		{"exclude one", "/ready?exclude=cache", 200, StatusPass, []string{"database:responseTime", "search:responseTime"}},
		{"exclude repeated", "/ready?exclude=cache&exclude=search", 200, StatusPass, []string{"database:responseTime"}},
		{"exclude comma list", "/ready?exclude=cache,search", 200, StatusPass, []string{"database:responseTime"}},
		{"exclude unknown ignored", "/ready?exclude=nope", 200, StatusWarn, []string{"database:responseTime", "cache:responseTime", "search:responseTime"}},
		{"other query ignored", "/ready?x=1", 200, StatusWarn, []string{"database:responseTime", "cache:responseTime", "search:responseTime"}},
	}
	c := readinessChecker(t)
	h := c.Readiness()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, h, tt.target)
			if rec.Code != tt.wantCode {
				t.Fatalf("GET %s: code %d; want %d", tt.target, rec.Code, tt.wantCode)
			}
			if ct := rec.Header().Get("Content-Type"); ct != ContentTypeHealth {
				t.Fatalf("Content-Type = %q; want %q", ct, ContentTypeHealth)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control = %q; want no-store", cc)
			}
			if ns := rec.Header().Get("X-Content-Type-Options"); ns != "nosniff" {
				t.Fatalf("X-Content-Type-Options = %q; want nosniff", ns)
			}
			b := decode(t, rec)
			if b.Status != tt.wantStatus {
				t.Fatalf("GET %s: status %q; want %q", tt.target, b.Status, tt.wantStatus)
			}
			if len(b.Checks) != len(tt.wantKeys) {
				t.Fatalf("GET %s: checks %v; want %v", tt.target, b.Checks, tt.wantKeys)
			}
			for _, k := range tt.wantKeys {
				if len(b.Checks[k]) != 1 {
					t.Fatalf("GET %s: missing %q in %v", tt.target, k, b.Checks)
				}
			}
		})
	}
}

func TestReadinessIETFFields(t *testing.T) {
	c := readinessChecker(t)
	b := decode(t, get(t, c.Readiness(), "/ready"))
	if b.Version != "1.4.0" || b.ReleaseID != "1.4.0-abc" || b.ServiceID != "svc-1" || b.Description != "orders" {
		t.Fatalf("identity fields = %+v", b)
	}
	db := b.Checks["database:responseTime"][0]
	if db.ComponentType != "datastore" || db.ObservedUnit != "ms" || db.Status != StatusPass || db.Output != "" {
		t.Fatalf("database entry = %+v", db)
	}
	if _, err := time.Parse(time.RFC3339Nano, db.Time); err != nil {
		t.Fatalf("time %q: %v", db.Time, err)
	}
	cache := b.Checks["cache:responseTime"][0]
	if cache.Status != StatusFail || cache.Output != "cache down" || cache.ComponentType != "component" {
		t.Fatalf("cache entry = %+v", cache)
	}
}

func TestReadinessHiddenOutput(t *testing.T) {
	c := readinessChecker(t, WithHiddenOutput())
	rec := get(t, c.Readiness(), "/ready")
	if strings.Contains(rec.Body.String(), "cache down") {
		t.Fatalf("body leaks error text: %s", rec.Body)
	}
	rec = get(t, c.Readiness(), "/ready?verbose")
	if strings.Contains(rec.Body.String(), "cache down") || !strings.Contains(rec.Body.String(), "reason withheld") {
		t.Fatalf("verbose body = %q; want the reason withheld", rec.Body)
	}
	rep, _ := c.Report(context.Background())
	if rep.Checks[1].Err == nil {
		t.Fatal("Report lost the error")
	}
}

func TestReadinessVerbose(t *testing.T) {
	c := readinessChecker(t)
	h := c.Readiness()
	tests := []struct {
		target   string
		wantCode int
		want     string
	}{
		{"/ready?verbose", 200, "[+]database ok\n[-]cache failed (non-critical): cache down\n[+]search ok\nready check passed with warnings\n"},
		{"/ready?verbose&exclude=cache", 200, "[+]database ok\n[+]search ok\nready check passed\n"},
		{"/ready?verbose=1&exclude=bogus", 200, "[+]database ok\n[-]cache failed (non-critical): cache down\n[+]search ok\n" +
			"warn: some checks cannot be excluded: no matches for \"bogus\"\nready check passed with warnings\n"},
	}
	for _, tt := range tests {
		rec := get(t, h, tt.target)
		if rec.Code != tt.wantCode || rec.Body.String() != tt.want {
			t.Errorf("GET %s = %d %q; want %d %q", tt.target, rec.Code, rec.Body, tt.wantCode, tt.want)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("GET %s: Content-Type %q", tt.target, ct)
		}
	}
}

func TestReadinessCriticalFailure(t *testing.T) {
	c := mustNew(t, WithCheck("database", failWith("connection refused")), WithCheck("search", pass))
	h := c.Readiness()
	rec := get(t, h, "/ready")
	if rec.Code != 503 || decode(t, rec).Status != StatusFail {
		t.Fatalf("GET /ready = %d %s; want 503 fail", rec.Code, rec.Body)
	}
	rec = get(t, h, "/ready?verbose")
	want := "[-]database failed: connection refused\n[+]search ok\nready check failed\n"
	if rec.Code != 503 || rec.Body.String() != want {
		t.Fatalf("GET /ready?verbose = %d %q; want 503 %q", rec.Code, rec.Body, want)
	}
	if rec = get(t, h, "/ready?exclude=database"); rec.Code != 200 {
		t.Fatalf("GET /ready?exclude=database = %d; want 200", rec.Code)
	}
}

// routers mounts the readiness handler in every documented way.
func routers(t testing.TB, c *Checker) map[string]http.Handler {
	t.Helper()
	h := c.Readiness()
	mux := http.NewServeMux()
	mux.Handle("GET /ready", h)
	mux.Handle("GET /ready/{check}", h)

	// The same mux in a sub-mux behind http.StripPrefix.
	inner := http.NewServeMux()
	inner.Handle("GET /ready", h)
	inner.Handle("GET /ready/{check}", h)
	strip := http.NewServeMux()
	strip.Handle("/svc/", http.StripPrefix("/svc", inner))

	// One route per check, named explicitly.
	explicit := http.NewServeMux()
	explicit.Handle("GET /ready", h)
	for _, chk := range c.checks {
		name := chk.name
		ch, err := c.CheckHandler(name)
		if err != nil {
			t.Fatal(err)
		}
		explicit.Handle("GET /ready/"+name, ch)
	}
	explicit.Handle("GET /ready/{check}", h) // unknown names: 404

	chiParam := chi.NewRouter()
	chiParam.Get("/ready", h.ServeHTTP)
	chiParam.Get("/ready/{check}", h.ServeHTTP)

	chiMount := chi.NewRouter()
	chiMount.Mount("/svc", chiParam)

	// Health routes inside a sub-router mounted under a wildcard: the outer
	// "*" must not be taken for a check name.
	chiNested := chi.NewRouter()
	sub := chi.NewRouter()
	sub.Get("/ready", h.ServeHTTP)
	sub.Get("/ready/{check}", h.ServeHTTP)
	chiNested.Mount("/", sub)

	return map[string]http.Handler{
		"servemux": mux, "stripprefix": strip, "explicit": explicit, "chi param": chiParam,
		"chi mount": chiMount, "chi nested": chiNested,
	}
}

func TestReadinessPerCheckPaths(t *testing.T) {
	c := readinessChecker(t)
	for name, h := range routers(t, c) {
		prefix := ""
		if name == "stripprefix" || name == "chi mount" {
			prefix = "/svc"
		}
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				target     string
				wantCode   int
				wantStatus Status
				wantChecks int
			}{
				{"/ready", 200, StatusWarn, 3},
				{"/ready/database", 200, StatusPass, 1},
				{"/ready/cache", 503, StatusFail, 1},
				{"/ready/database?verbose", 200, "", 0},
			}
			for _, tt := range tests {
				rec := get(t, h, prefix+tt.target)
				if rec.Code != tt.wantCode {
					t.Fatalf("GET %s = %d %s; want %d", tt.target, rec.Code, rec.Body, tt.wantCode)
				}
				if tt.wantStatus == "" {
					if want := "[+]database ok\nready check passed\n"; rec.Body.String() != want {
						t.Fatalf("GET %s body %q; want %q", tt.target, rec.Body, want)
					}
					continue
				}
				b := decode(t, rec)
				if b.Status != tt.wantStatus || len(b.Checks) != tt.wantChecks {
					t.Fatalf("GET %s = %+v; want %s with %d checks", tt.target, b, tt.wantStatus, tt.wantChecks)
				}
			}
			rec := get(t, h, prefix+"/ready/nope")
			if rec.Code != 404 || rec.Header().Get("Content-Type") != ContentTypeProblem {
				t.Fatalf("GET /ready/nope = %d %q; want 404 problem", rec.Code, rec.Header().Get("Content-Type"))
			}
			var p struct {
				Title  string
				Status int
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != 404 || p.Title != "Not Found" {
				t.Fatalf("problem body %q: %+v %v", rec.Body, p, err)
			}
		})
	}
}

func TestCheckHandler(t *testing.T) {
	c := readinessChecker(t)
	if _, err := c.CheckHandler("nope"); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("CheckHandler(%q) error = %v; want one naming it", "nope", err)
	}
	h, err := c.CheckHandler("cache")
	if err != nil {
		t.Fatal(err)
	}
	// The fixed name wins over whatever the path says.
	for _, target := range []string{"/anything", "/ready/database", "/"} {
		if rec := get(t, h, target); rec.Code != 503 || len(decode(t, rec).Checks) != 1 {
			t.Fatalf("GET %s = %d %s; want 503 for cache alone", target, rec.Code, rec.Body)
		}
	}
}

// TestReadinessIgnoresURLPath checks that the handler mounted at a fixed
// route answers for every check, whatever prefix was stripped before it.
func TestReadinessIgnoresURLPath(t *testing.T) {
	c := readinessChecker(t)
	h := c.Readiness()
	mounts := map[string]http.Handler{
		"/svc/ready":    http.StripPrefix("/svc", h),
		"/svc/database": http.StripPrefix("/svc", h),
		"/database":     h,
	}
	for target, m := range mounts {
		if rec := get(t, m, target); rec.Code != 200 || len(decode(t, rec).Checks) != 3 {
			t.Errorf("GET %s = %d %s; want 200 with every check", target, rec.Code, rec.Body)
		}
	}
}

func TestReadinessMethodNotAllowed(t *testing.T) {
	c := readinessChecker(t)
	for _, h := range []http.Handler{c.Readiness(), c.Liveness()} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ready", nil))
		if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" || rec.Header().Get("Content-Type") != ContentTypeProblem {
			t.Fatalf("POST = %d %v; want 405 problem with Allow", rec.Code, rec.Header())
		}
	}
	rec := httptest.NewRecorder()
	c.Readiness().ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/ready", nil))
	if rec.Code != 200 {
		t.Fatalf("HEAD = %d; want 200", rec.Code)
	}
}

func TestReadinessDraining(t *testing.T) {
	c := readinessChecker(t)
	h := c.Readiness()
	if rec := get(t, h, "/ready"); rec.Code != 200 {
		t.Fatalf("before drain: %d", rec.Code)
	}
	c.Drain()
	rec := get(t, h, "/ready")
	b := decode(t, rec)
	if rec.Code != 503 || b.Status != StatusFail || b.Output != "shutting down" || len(b.Checks) != 3 {
		t.Fatalf("draining: %d %+v; want 503 fail shutting down with the last checks", rec.Code, b)
	}
	rec = get(t, h, "/ready?verbose")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "[-]shutdown failed: shutting down\n") {
		t.Fatalf("draining verbose: %d %q", rec.Code, rec.Body)
	}
	if rec = get(t, h, "/ready?exclude=cache"); rec.Code != 503 {
		t.Fatalf("draining with exclude: %d; want 503", rec.Code)
	}
	// A query takes the filtered path, still 503.
	if rec = get(t, h, "/ready?x"); rec.Code != 503 {
		t.Fatalf("draining with query: %d; want 503", rec.Code)
	}
	if rec := get(t, c.Liveness(), "/health"); rec.Code != 200 {
		t.Fatalf("liveness while draining: %d; want 200", rec.Code)
	}
}

func TestReadinessDrainingBeforeAnyRun(t *testing.T) {
	c := mustNew(t, WithCheck("database", pass))
	c.Drain()
	h := c.Readiness()
	rec := get(t, h, "/ready")
	if b := decode(t, rec); rec.Code != 503 || b.Status != StatusFail || len(b.Checks) != 0 {
		t.Fatalf("GET /ready = %d %+v; want 503 with no checks", rec.Code, b)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ready/{check}", h)
	rec = get(t, mux, "/ready/database")
	if b := decode(t, rec); rec.Code != 503 || b.Output != "shutting down" {
		t.Fatalf("GET /ready/database = %d %+v; want 503 shutting down", rec.Code, b)
	}
	rec = get(t, mux, "/ready/database?verbose")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "shutting down") {
		t.Fatalf("GET /ready/database?verbose = %d %q", rec.Code, rec.Body)
	}
}

func TestReadinessClientGone(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c := mustNew(t, WithCheck("slow", func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}, WithTimeout(time.Minute)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	c.Readiness().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil).WithContext(ctx))
	if rec.Code != 503 || rec.Header().Get("Content-Type") != ContentTypeProblem {
		t.Fatalf("code %d %q; want 503 problem", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestReadinessAfterCloseWithoutRun(t *testing.T) {
	c, err := New(WithCheck("a", pass))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	c.draining.Store(false) // reach the closed path of a probe
	if rec := get(t, c.Readiness(), "/ready"); rec.Code != 503 {
		t.Fatalf("code %d; want 503", rec.Code)
	}
}

// A dependency on a closed port makes readiness 503 within the check timeout:
// the failure is the refused connection, not the timeout.
func TestReadinessClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	check, err := HTTPGet(client, "http://"+addr+"/health")
	if err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, WithCheck("payments", check, WithTimeout(5*time.Second)))
	rec := get(t, c.Readiness(), "/ready")
	if rec.Code != 503 {
		t.Fatalf("code %d; want 503", rec.Code)
	}
	rep, _ := c.Report(context.Background())
	res := rep.Checks[0]
	if errors.Is(res.Err, ErrTimeout) || res.Duration >= 5*time.Second {
		t.Fatalf("result %+v; want a refused connection before the timeout", res)
	}
	if !strings.Contains(decode(t, rec).Checks["payments:responseTime"][0].Output, "refused") {
		t.Fatalf("output does not say the connection was refused: %s", rec.Body)
	}
}

// A dependency that accepts but never answers: 503 at the check timeout.
func TestReadinessHangingDependency(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	client := srv.Client()
	check, err := HTTPGet(client, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, WithCheck("slow", check, WithTimeout(50*time.Millisecond)))
	rec := get(t, c.Readiness(), "/ready")
	if rec.Code != 503 {
		t.Fatalf("code %d; want 503", rec.Code)
	}
	if out := decode(t, rec).Checks["slow:responseTime"][0].Output; !strings.Contains(out, "timed out after 50ms") {
		t.Fatalf("output %q; want the timeout", out)
	}
	_ = c.Close()
	client.CloseIdleConnections()
}

func FuzzReadiness(f *testing.F) {
	for _, s := range []string{
		"/ready", "/ready/database", "/ready?verbose", "/ready?exclude=cache&exclude=database",
		"/ready/x%2Fy", "/ready?exclude=%00", "/ready/../ready", "/ready?verbose&exclude=,,,",
	} {
		f.Add(s)
	}
	c, err := New(WithCheck("database", pass), WithCheck("cache", failWith("down\n<b>"), WithCritical(false)))
	if err != nil {
		f.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	handlers := routers(f, c)
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(http.MethodGet, "http://example.com"+target, nil)
		if err != nil {
			return
		}
		req.RequestURI = req.URL.RequestURI()
		for name, h := range handlers {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req.Clone(context.Background()))
			switch rec.Code {
			case 200, 503:
				ct := rec.Header().Get("Content-Type")
				if ct == ContentTypeHealth && !json.Valid(rec.Body.Bytes()) {
					t.Fatalf("%s %q: invalid JSON %q", name, target, rec.Body)
				}
			case 301, 307, 308, 404, 405:
			default:
				t.Fatalf("%s %q: unexpected code %d", name, target, rec.Code)
			}
		}
	})
}
