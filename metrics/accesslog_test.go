package metrics

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
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/testenv"
)

type logLines struct{ buf bytes.Buffer }

func (l *logLines) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(&l.buf, &slog.HandlerOptions{Level: level}))
}

func (l *logLines) all(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	l.buf.Reset()
	return out
}

func (l *logLines) one(t *testing.T) map[string]any {
	t.Helper()
	lines := l.all(t)
	if len(lines) != 1 {
		t.Fatalf("got %d log lines; want 1: %v", len(lines), lines)
	}
	return lines[0]
}

func TestNewAccessLogInvalid(t *testing.T) {
	if _, err := NewAccessLog(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewAccessLog(nil) error = %v; want ErrInvalidConfig", err)
	}
	if _, err := NewAccessLog(slog.Default(), WithLevel(nil)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewAccessLog(WithLevel(nil)) error = %v; want ErrInvalidConfig", err)
	}
}

func TestAccessLogLine(t *testing.T) {
	var logs logLines
	clock := testenv.NewStepClock(time.Unix(0, 0), 1500*time.Microsecond)
	type traceKey struct{}
	al, err := NewAccessLog(logs.logger(slog.LevelDebug), withNow(clock.Now),
		WithTraceID(func(ctx context.Context) string { s, _ := ctx.Value(traceKey{}).(string); return s }),
		WithRedactedQuery("Session_Key"))
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(al.Handler)
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if got := RequestIDFromContext(r.Context()); got != "req-1" {
			t.Errorf("RequestIDFromContext = %q; want req-1", got)
		}
		_ = WithUserID(r.Context(), "u-7") // the innermost handler: only the log needs it
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("done"))
	})

	req := httptest.NewRequest(http.MethodGet, "/users/42?page=2&token=abc&session_key=s3&x=1", nil)
	req.RemoteAddr = "[::ffff:192.0.2.7]:4242"
	req.Header.Set("Authorization", "Bearer top-secret")
	req.Header.Set("Cookie", "sid=cookie-secret")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set(RequestIDHeader, "req-1")
	req = req.WithContext(context.WithValue(req.Context(), traceKey{}, "trace-9"))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)

	raw := logs.buf.String()
	for _, secret := range []string{"top-secret", "cookie-secret", "abc", "s3", "203.0.113.9"} {
		if strings.Contains(raw, secret) {
			t.Errorf("log line contains %q: %s", secret, raw)
		}
	}
	line := logs.one(t)
	want := map[string]any{
		"level":       "INFO",
		"msg":         "http request",
		"method":      "GET",
		"route":       "/users/{id}",
		"path":        "/users/42",
		"query":       "page=2&token=REDACTED&session_key=REDACTED&x=1",
		"status":      float64(202),
		"bytes":       float64(4),
		"duration_ms": 1.5,
		"client_ip":   "192.0.2.7",
		"request_id":  "req-1",
		"user_id":     "u-7",
		"trace_id":    "trace-9",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v; want %v", k, line[k], v)
		}
	}
	if got := w.Header().Get(RequestIDHeader); got != "req-1" {
		t.Errorf("echoed request ID = %q; want req-1", got)
	}
}

func TestAccessLogLevels(t *testing.T) {
	tests := []struct {
		status int
		level  string
	}{
		{200, "INFO"}, {301, "INFO"}, {404, "WARN"}, {429, "WARN"}, {500, "ERROR"}, {503, "ERROR"},
	}
	var logs logLines
	al, err := NewAccessLog(logs.logger(slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		h := al.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
		serve(h, http.MethodGet, "/")
		line := logs.one(t)
		if line["level"] != tt.level {
			t.Errorf("status %d: level = %v; want %s", tt.status, line["level"], tt.level)
		}
		if line["route"] != UnmatchedEndpoint {
			t.Errorf("route = %v; want %s", line["route"], UnmatchedEndpoint)
		}
	}

	// A custom level function, with the logger filtering below warn.
	al, err = NewAccessLog(logs.logger(slog.LevelWarn), WithLevel(func(status int) slog.Level {
		if status == http.StatusTeapot {
			return slog.LevelError
		}
		return slog.LevelDebug
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{200, 500, 418} {
		h := al.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
		serve(h, http.MethodGet, "/")
	}
	lines := logs.all(t)
	if len(lines) != 1 || lines[0]["status"] != float64(418) {
		t.Errorf("lines = %v; want only the 418", lines)
	}
}

func TestAccessLogRequestID(t *testing.T) {
	var logs logLines
	al, err := NewAccessLog(logs.logger(slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	var inner string
	h := al.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = RequestIDFromContext(r.Context())
	}))
	for _, incoming := range []string{"", "bad id with spaces", strings.Repeat("x", MaxRequestIDLen+1), "\"quoted\""} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if incoming != "" {
			req.Header.Set(RequestIDHeader, incoming)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		echoed := w.Header().Get(RequestIDHeader)
		line := logs.one(t)
		if echoed == incoming || !ValidRequestID(echoed) || echoed != inner || line["request_id"] != echoed {
			t.Errorf("incoming %q: echoed %q, inner %q, logged %v; want one generated ID", incoming, echoed, inner, line["request_id"])
		}
	}

	// Behind RequestID, the access log reuses its ID and does not echo again.
	h = RequestID(al.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := w.Header().Values(RequestIDHeader); len(got) != 1 || logs.one(t)["request_id"] != got[0] {
		t.Errorf("echoed %v; want one ID, the logged one", got)
	}
}

func TestAccessLogClientIP(t *testing.T) {
	var logs logLines
	al, err := NewAccessLog(logs.logger(slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	resolver := func(trusted string) func(http.Handler) http.Handler {
		ips, err := clientip.New([]string{trusted})
		if err != nil {
			t.Fatal(err)
		}
		return ips.Handler
	}
	tests := []struct {
		name       string
		mw         func(http.Handler) http.Handler
		remoteAddr string
		want       string
	}{
		{"peer", nil, "192.0.2.1:1234", "192.0.2.1"},
		{"peer without port", nil, "192.0.2.2", "192.0.2.2"},
		{"unparsable peer", nil, "@", "@"},
		{"resolver", resolver("192.0.2.0/24"), "192.0.2.3:1", "203.0.113.1"},
		{"resolver, untrusted peer", resolver("10.0.0.0/8"), "192.0.2.5:1", "192.0.2.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Handler = al.Handler(http.NotFoundHandler())
			if tt.mw != nil {
				h = tt.mw(h)
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remoteAddr
			req.Header.Set("X-Real-IP", "198.51.100.4")
			req.Header.Set("X-Forwarded-For", "203.0.113.1")
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got := logs.one(t)["client_ip"]; got != tt.want {
				t.Errorf("client_ip = %v; want %s", got, tt.want)
			}
		})
	}
}

func TestAccessLogUserID(t *testing.T) {
	var logs logLines
	al, err := NewAccessLog(logs.logger(slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(WithUserID(r.Context(), "alice")))
		})
	}
	var seen string
	h := al.Handler(auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = UserIDFromContext(r.Context())
	})))
	serve(h, http.MethodGet, "/")
	if got := logs.one(t)["user_id"]; got != "alice" || seen != "alice" {
		t.Errorf("logged %v, handler saw %q; want alice", got, seen)
	}
	// No user: no user_id attribute.
	serve(al.Handler(http.NotFoundHandler()), http.MethodGet, "/")
	if line := logs.one(t); line["user_id"] != nil {
		t.Errorf("user_id = %v; want absent", line["user_id"])
	}
}

// TestMiddlewareWithLogger checks the one-pass form: metrics and log line
// from the same measurement.
func TestMiddlewareWithLogger(t *testing.T) {
	var logs logLines
	clock := testenv.NewStepClock(time.Unix(0, 0), 2*time.Millisecond)
	m, reg := newTestMiddleware(t, WithLogger(logs.logger(slog.LevelInfo)), withNow(clock.Now))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	})
	serve(m.Handler(mux), http.MethodGet, "/items/3")
	line := logs.one(t)
	if line["route"] != "/items/{id}" || line["status"] != float64(410) || line["duration_ms"] != 2.0 || line["level"] != "WARN" {
		t.Errorf("log line = %v", line)
	}
	if got := counterValue(t, reg, "endpoint=/items/{id},method=GET,status=410"); got != 1 {
		t.Errorf("counter = %v; want 1", got)
	}
	d := metric(t, reg, DurationName, "endpoint=/items/{id},method=GET").GetHistogram()
	if d.GetSampleSum() != 0.002 {
		t.Errorf("duration = %v; want 0.002", d.GetSampleSum())
	}
	_ = prometheus.NewRegistry()
}

func TestAccessLogRouteCache(t *testing.T) {
	var logs logLines
	al, err := NewAccessLog(logs.logger(slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(al.Handler)
	r.Get("/a/{x}", func(w http.ResponseWriter, r *http.Request) {})
	for range 3 {
		serve(r, http.MethodGet, "/a/1")
	}
	for _, line := range logs.all(t) {
		if line["route"] != "/a/{x}" {
			t.Errorf("route = %v; want /a/{x}", line["route"])
		}
	}
	if got := al.core.log.routes.len(); got != 1 {
		t.Errorf("cached routes = %d; want 1", got)
	}
}

func TestRedactQuery(t *testing.T) {
	secret := map[string]struct{}{"token": {}, "password": {}}
	tests := []struct{ in, want string }{
		{"", ""},
		{"a=1&b=2", "a=1&b=2"},
		{"token=abc", "token=REDACTED"},
		{"a=1&token=abc&b=2", "a=1&token=REDACTED&b=2"},
		{"TOKEN=abc&Password=p&token", "TOKEN=REDACTED&Password=REDACTED&token"},
		{"to%6Ben=abc", "to%6Ben=REDACTED"},
		{"to+ken=abc&%zz=1", "to+ken=abc&%zz=1"},
		{"a=1&&token=", "a=1&&token=REDACTED"},
		{"token=a=b&x", "token=REDACTED&x"},
	}
	for _, tt := range tests {
		if got := redactQuery(tt.in, secret); got != tt.want {
			t.Errorf("redactQuery(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzRedactQuery(f *testing.F) {
	for _, s := range []string{"token=abc", "a=1&token=x&b", "%74oken=1", "token=&token=z", "&&=&"} {
		f.Add(s)
	}
	secret := map[string]struct{}{"token": {}}
	f.Fuzz(func(t *testing.T, q string) {
		got := redactQuery(q, secret)
		gotParts := strings.Split(got, "&")
		inParts := strings.Split(q, "&")
		if len(gotParts) != len(inParts) {
			t.Fatalf("redactQuery(%q) = %q: parameter count changed", q, got)
		}
		for i, p := range inParts {
			key, _, hasValue := strings.Cut(p, "=")
			if hasValue && isSecret(key, secret) {
				if gotParts[i] != key+"=REDACTED" {
					t.Fatalf("redactQuery(%q) = %q: secret %q not redacted", q, got, p)
				}
			} else if gotParts[i] != p {
				t.Fatalf("redactQuery(%q) = %q: %q changed", q, got, p)
			}
		}
	})
}
