package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/testenv"
)

// syncBuffer is a log destination tests read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// startWith starts the service with a configuration the caller adjusted
// and a JSON logger writing to logs.
func startWith(t *testing.T, env map[string]string, adjust func(*Config), logs io.Writer) *server {
	t.Helper()
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if adjust != nil {
		adjust(cfg)
	}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := start(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, base: "http://" + ln.Addr().String(), app: a, cancel: cancel, done: make(chan error, 1),
		admin: cfg.AdminUsername, adminPW: cfg.AdminPassword}
	go func() { s.done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		s.stop()
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestLoginTrace(t *testing.T) {
	pg := testenv.NewPostgres(t)
	rd := testenv.NewRedis(t)
	env := baseEnv(t)
	env["DATABASE_URL"] = pg.URL
	env["REDIS_URL"] = rd.URL
	env["APP_NAME"] = strings.TrimSuffix(rd.Prefix, ":")
	env["SEED_USERS"] = "0"
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	var logs syncBuffer
	s := startWith(t, env, func(c *Config) { c.TracerProvider = tp }, &logs)

	const traceID = "4bf92f3577b34da6a3ce929d0e0736ae"
	body := strings.NewReader(`{"username":"` + s.admin + `","password":"` + s.adminPW + `"}`)
	req, _ := http.NewRequest(http.MethodPost, s.base+"/auth/login", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	req.Header.Set("X-Request-ID", "login-1")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login = %d; want 200", res.StatusCode)
	}

	// The server span continues the incoming trace; database and Redis
	// spans descend from it.
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var server sdktrace.ReadOnlySpan
	for _, sp := range spans.Ended() {
		if sp.SpanContext().TraceID().String() != traceID {
			continue
		}
		byID[sp.SpanContext().SpanID()] = sp
		if sp.SpanKind() == trace.SpanKindServer {
			server = sp
		}
	}
	if server == nil || server.Name() != "POST /auth/login" || server.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("no server span POST /auth/login continuing the incoming trace; spans: %v", spanNames(spans.Ended()))
	}
	underServer := func(sp sdktrace.ReadOnlySpan) bool {
		for i := 0; i < 10; i++ {
			p, ok := byID[sp.Parent().SpanID()]
			if !ok {
				return false
			}
			if p == server {
				return true
			}
			sp = p
		}
		return false
	}
	scopes := map[string]int{}
	for _, sp := range byID {
		if sp != server && underServer(sp) {
			scopes[sp.InstrumentationScope().Name]++
		}
	}
	if scopes["github.com/exaring/otelpgx"] == 0 || scopes["github.com/redis/go-redis/extra/redisotel"] == 0 {
		t.Errorf("spans under the login span by scope = %v; want PostgreSQL (otelpgx) and Redis (redisotel)", scopes)
	}
	// Neither query parameters nor Redis arguments reach the spans.
	for _, sp := range byID {
		for _, kv := range sp.Attributes() {
			if v := kv.Value.String(); strings.Contains(v, s.adminPW) || strings.Contains(v, "$argon2") {
				t.Errorf("span %s attribute %s holds a secret", sp.Name(), kv.Key)
			}
		}
	}

	// The request's log lines carry the trace.
	found := false
	for _, rec := range logs.records(t) {
		if rec["request_id"] != "login-1" {
			continue
		}
		found = true
		if rec["trace_id"] != traceID {
			t.Errorf("log line %v lacks trace_id %s", rec, traceID)
		}
	}
	if !found {
		t.Error("no log line for the login request")
	}

	// The latency histogram links to the trace.
	h, err := metrics.Handler(s.app.Registry())
	if err != nil {
		t.Fatal(err)
	}
	mreq := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	mreq.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, mreq)
	if !strings.Contains(w.Body.String(), `http_request_duration_seconds_bucket{endpoint="/auth/login",method="POST",le=`) ||
		!strings.Contains(w.Body.String(), `# {trace_id="`+traceID+`"}`) {
		t.Error("OpenMetrics output has no duration exemplar with the login's trace ID")
	}
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// fakeSentry stands in for a Sentry host: it keeps the envelopes posted
// to it.
type fakeSentry struct {
	srv       *httptest.Server
	envelopes chan []byte
}

func newFakeSentry(t *testing.T) *fakeSentry {
	f := &fakeSentry{envelopes: make(chan []byte, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/api/42/envelope/" {
			f.envelopes <- body
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSentry) dsn() string {
	return "http://publickey@" + strings.TrimPrefix(f.srv.URL, "http://") + "/42"
}

// event waits for the next envelope holding an event and returns the
// event and the whole envelope.
func (f *fakeSentry) event(t *testing.T) (map[string]any, string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case env := <-f.envelopes:
			lines := bytes.Split(env, []byte("\n"))
			for i := 1; i+1 < len(lines); i++ {
				var item struct {
					Type string `json:"type"`
				}
				if json.Unmarshal(lines[i], &item) == nil && item.Type == "event" {
					var ev map[string]any
					if err := json.Unmarshal(lines[i+1], &ev); err != nil {
						t.Fatal(err)
					}
					return ev, string(env)
				}
			}
		case <-timeout:
			t.Fatal("no event reached the Sentry endpoint within 30s")
		}
	}
}

func TestSentryReportsServerErrors(t *testing.T) {
	sentry := newFakeSentry(t)
	env := baseEnv(t)
	env["SENTRY_DSN"] = sentry.dsn()
	env["SEED_USERS"] = "0"
	var logs syncBuffer
	s := startWith(t, env, nil, &logs)

	r := s.do("POST", "/auth/login", "", "198.51.100.9", map[string]string{"username": s.admin, "password": s.adminPW})
	want(t, "login", r, 200)
	var set struct {
		AccessToken string `json:"access_token"`
	}
	r.json(t, &set)
	sub := subjectOf(t, s, set.AccessToken)

	// The database goes away: listing users fails with 503.
	if err := s.app.db.Close(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/users?limit=7&password=hunter2", nil)
	req.Header.Set("Authorization", "Bearer "+set.AccessToken)
	req.Header.Set("Cookie", "session=cookie-secret-value")
	req.Header.Set("X-Request-ID", "fail-1")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("list users with the database closed = %d; want 503", res.StatusCode)
	}

	ev, raw := sentry.event(t)
	tags, _ := ev["tags"].(map[string]any)
	if tags["http.method"] != "GET" || tags["http.route"] != "/api/v1/users" || tags["http.status_code"] != "503" || tags["request_id"] != "fail-1" {
		t.Errorf("event tags = %v; want GET /api/v1/users 503 fail-1", tags)
	}
	if user, _ := ev["user"].(map[string]any); user["id"] != sub {
		t.Errorf("event user = %v; want id %s", ev["user"], sub)
	}
	if ev["transaction"] != "GET /api/v1/users" || ev["level"] != "error" {
		t.Errorf("event transaction %v level %v", ev["transaction"], ev["level"])
	}
	values, _ := ev["exception"].([]any)
	if len(values) == 0 || !strings.Contains(values[0].(map[string]any)["value"].(string), "database is closed") {
		t.Errorf("event exception = %v; want the database error", ev["exception"])
	}
	for _, secret := range []string{set.AccessToken, "Bearer", "cookie-secret-value", "hunter2", s.adminPW, "Authorization", "password"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the event sent to Sentry contains %q", secret)
		}
	}
	// The error line of the request carries its IDs and source.
	for _, rec := range logs.records(t) {
		if rec["level"] == "ERROR" && rec["request_id"] == "fail-1" {
			if rec["user_id"] != sub || !strings.HasPrefix(rec["source"].(string), "app/handlers.go:") {
				t.Errorf("error line = %v; want user_id %s and source app/handlers.go:N", rec, sub)
			}
			return
		}
	}
	t.Error("no error line for the failed request")
}

// subjectOf returns the user ID the service put in an access token.
func subjectOf(t *testing.T, s *server, token string) string {
	t.Helper()
	c, err := s.app.auth.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return c.Subject
}

func TestFailureEventPanic(t *testing.T) {
	var ev = failureEvent(metrics.Failure{
		Method: "POST", Route: "/x", Status: 500, Err: &metrics.PanicError{Value: "boom"}, Stack: []byte("goroutine 1"),
		TraceID: "4bf92f3577b34da6a3ce929d0e0736ae",
	})
	exc := ev.Exception[0]
	if exc.Type != "panic" || exc.Value != "panic: boom" || exc.Stacktrace == nil || ev.Tags["trace_id"] == "" || ev.Contexts["trace"]["trace_id"] == nil {
		t.Errorf("event = %+v; want a panic with a stack and the trace ID", ev)
	}
}

func TestTracingConfigured(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_SERVICE_NAME": "svc"}, false},
	}
	for _, tt := range tests {
		if got := tracingConfigured(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("tracingConfigured(%v) = %v; want %v", tt.env, got, tt.want)
		}
	}
}

func TestTelemetryConfigErrors(t *testing.T) {
	for _, kv := range [][2]string{{"SENTRY_DSN", "not a dsn"}, {"OTEL_SDK_DISABLED", "maybe"}} {
		env := map[string]string{kv[0]: kv[1]}
		_, err := LoadConfig(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), kv[0]+":") {
			t.Errorf("LoadConfig(%s=%q) = %v; want a problem naming %s", kv[0], kv[1], err, kv[0])
		}
	}
}

// TestOTLPExport starts the service with an OTLP endpoint and checks that
// a request's span reaches it.
func TestOTLPExport(t *testing.T) {
	got := make(chan string, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.URL.Path
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "10")
	env := baseEnv(t)
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.URL
	env["SEED_USERS"] = "0"
	s := startWith(t, env, nil, io.Discard)
	if !s.app.tracingOn() {
		t.Fatal("tracing is off with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	want(t, "GET /health", s.do("GET", "/health", "", "", nil), 200)
	select {
	case p := <-got:
		if p != "/v1/traces" {
			t.Errorf("exporter posted to %s; want /v1/traces", p)
		}
	case <-time.After(30 * time.Second):
		t.Error("no span was exported within 30s")
	}
}
