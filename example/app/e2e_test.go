package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
)

// server is the example service running in-process on a random port.
type server struct {
	t       *testing.T
	base    string
	intBase string // the internal listener
	app     *service
	cancel  context.CancelFunc
	done    chan error
	admin   string
	adminPW string
}

func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	cfg, err := LoadConfig(getenv)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
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
	iln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, base: "http://" + ln.Addr().String(), intBase: "http://" + iln.Addr().String(), app: a, cancel: cancel, done: make(chan error, 1),
		admin: cfg.AdminUsername, adminPW: cfg.AdminPassword}
	internal := make(chan error, 1)
	go func() { internal <- a.ServeInternal(ctx, iln) }()
	go func() { s.done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if err := <-internal; err != nil {
			t.Errorf("ServeInternal: %v", err)
		}
	})
	t.Cleanup(func() {
		s.stop()
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func (s *server) stop() {
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("Serve: %v", err)
		}
		s.done <- nil
	case <-time.After(30 * time.Second):
		s.t.Errorf("server did not stop within 30s")
	}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

var client = &http.Client{Timeout: 30 * time.Second}

// do sends a request as the client at ip (through the trusted proxy).
func (s *server) do(method, path, token, ip string, body any) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	res, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: data}
	checkSecurityHeaders(s.t, method+" "+path, r)
	return r
}

// internal GETs path from the internal listener.
func (s *server) internal(path string) resp {
	s.t.Helper()
	res, err := client.Get(s.intBase + path)
	if err != nil {
		s.t.Fatalf("GET %s (internal): %v", path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("GET %s (internal): read: %v", path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

// checkSecurityHeaders holds for every response, errors included.
func checkSecurityHeaders(t *testing.T, what string, r resp) {
	t.Helper()
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "X-Request-Id"} {
		if r.header.Get(h) == "" {
			t.Errorf("%s (%d): no %s header", what, r.status, h)
		}
	}
	if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" && !strings.HasPrefix(r.header.Get("Content-Type"), "application/health+json") && !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("%s (%d): Content-Type %q; want application/problem+json", what, r.status, r.header.Get("Content-Type"))
	}
}

func want(t *testing.T, what string, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d %s; want %d", what, r.status, r.body, status)
	}
}

func baseEnv(t *testing.T) map[string]string {
	return map[string]string{
		"APP_NAME":         "covet-e2e-" + testenv.RandomID(4),
		"APP_VERSION":      "1.2.3",
		"DATA_DIR":         t.TempDir(),
		"ADMIN_USERNAME":   "admin",
		"ADMIN_PASSWORD":   "correct horse battery staple",
		"SEED_USERS":       "120",
		"TRUSTED_PROXIES":  "127.0.0.1/32",
		"LOGIN_RATE_LIMIT": "5/minute",
		"RATE_LIMIT":       "100000/minute",
		"DRAIN_DELAY":      "300ms",
	}
}

// contractEnv is baseEnv with a login limit per hour rather than per
// minute, so that five slow logins on a loaded machine cannot earn the
// sixth a refilled token before the walk asserts its 429.
func contractEnv(t *testing.T) map[string]string {
	env := baseEnv(t)
	env["LOGIN_RATE_LIMIT"] = "5/hour"
	return env
}

func TestEndToEndEmbedded(t *testing.T) {
	s := startServer(t, contractEnv(t))
	walkContract(t, s, 121)
}

func TestEndToEndPostgresRedis(t *testing.T) {
	pg := testenv.NewPostgres(t)
	rd := testenv.NewRedis(t)
	env := contractEnv(t)
	env["DATABASE_URL"] = pg.URL
	env["REDIS_URL"] = rd.URL
	env["APP_NAME"] = strings.TrimSuffix(rd.Prefix, ":")
	s := startServer(t, env)
	if s.app.db.DriverName() != "pgx" || s.app.rdb == nil {
		t.Fatalf("service uses %s, redis=%v; want PostgreSQL and Redis", s.app.db.DriverName(), s.app.rdb != nil)
	}
	walkContract(t, s, 121)
}

func walkContract(t *testing.T, s *server, users int) {
	// Probes.
	r := s.do("GET", "/health", "", "", nil)
	want(t, "GET /health", r, 200)
	var live map[string]any
	r.json(t, &live)
	if live["status"] != "pass" || live["version"] != "1.2.3" {
		t.Errorf("/health body = %s", r.body)
	}
	want(t, "GET /ready", s.do("GET", "/ready", "", "", nil), 200)
	want(t, "GET /ready/database", s.do("GET", "/ready/database", "", "", nil), 200)
	if s.app.rdb != nil {
		want(t, "GET /ready/redis", s.do("GET", "/ready/redis", "", "", nil), 200)
	}
	r = s.do("GET", "/ready?verbose", "", "", nil)
	if !strings.Contains(string(r.body), "[+]database ok") {
		t.Errorf("/ready?verbose = %s", r.body)
	}
	want(t, "GET /metrics/health (internal)", s.internal("/metrics/health"), 200)
	want(t, "GET /no/such/route", s.do("GET", "/no/such/route", "", "", nil), 404)

	// Unauthenticated API calls.
	r = s.do("GET", "/api/v1/users", "", "", nil)
	want(t, "GET /api/v1/users without a token", r, 401)
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	r = s.do("GET", "/api/v1/users", "not.a.token", "", nil)
	want(t, "GET /api/v1/users with a bad token", r, 401)
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("401 WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	want(t, "GET /export/users.csv without a token", s.do("GET", "/export/users.csv", "", "", nil), 401)

	// Login limit: the sixth attempt in an hour from one client is refused.
	for i := 1; i <= 5; i++ {
		want(t, fmt.Sprintf("bad login %d", i), s.do("POST", "/auth/login", "", "203.0.113.7", map[string]string{"username": fmt.Sprintf("nobody_%d", i), "password": "wrong password here"}), 401)
	}
	r = s.do("POST", "/auth/login", "", "203.0.113.7", map[string]string{"username": s.admin, "password": s.adminPW})
	want(t, "sixth login from one client", r, 429)
	if r.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}

	// Login and token set.
	r = s.do("POST", "/auth/login", "", "198.51.100.1", map[string]string{"username": s.admin, "password": s.adminPW})
	want(t, "admin login", r, 200)
	var set struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		CSRFToken    string `json:"csrf_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
	}
	r.json(t, &set)
	if set.AccessToken == "" || set.RefreshToken == "" || set.CSRFToken == "" || set.TokenType != "Bearer" || set.ExpiresIn != 900 {
		t.Fatalf("token set = %s", r.body)
	}
	tok := set.AccessToken

	// Validation, creation, duplicates.
	r = s.do("POST", "/api/v1/users", tok, "", map[string]string{"username": "x!", "email": "not-an-email", "bio": strings.Repeat("b", 1001), "password": "short"})
	want(t, "invalid user", r, 422)
	var prob struct {
		Errors []fieldError `json:"errors"`
	}
	r.json(t, &prob)
	fields := map[string]bool{}
	for _, e := range prob.Errors {
		fields[e.Field] = true
	}
	for _, f := range []string{"username", "email", "bio", "password"} {
		if !fields[f] {
			t.Errorf("422 body does not name %s: %s", f, r.body)
		}
	}
	newUser := map[string]string{"username": "locky_user", "email": "locky@example.org", "bio": "Formula =1+1 and \"quotes\", commas\nnewline", "password": "a long enough passphrase"}
	r = s.do("POST", "/api/v1/users", tok, "", newUser)
	want(t, "create user", r, 201)
	var created user
	r.json(t, &created)
	r = s.do("POST", "/api/v1/users", tok, "", newUser)
	want(t, "duplicate user", r, 409)
	users++

	r = s.do("GET", fmt.Sprintf("/api/v1/users/%d", created.ID), tok, "", nil)
	want(t, "get user", r, 200)
	want(t, "get missing user", s.do("GET", "/api/v1/users/99999999", tok, "", nil), 404)

	// Body limit.
	big := append([]byte(`{"username":"`), bytes.Repeat([]byte("a"), maxBodyBytes+10)...)
	want(t, "oversized body", s.do("POST", "/api/v1/users", tok, "", big), 413)

	// Lockout: five failures from different clients lock the account, and
	// even the right password is then refused.
	for i := 1; i <= 5; i++ {
		want(t, fmt.Sprintf("wrong password %d", i), s.do("POST", "/auth/login", "", fmt.Sprintf("192.0.2.%d", i), map[string]string{"username": "locky_user", "password": "not the password"}), 401)
	}
	r = s.do("POST", "/auth/login", "", "192.0.2.99", map[string]string{"username": "locky_user", "password": newUser["password"]})
	want(t, "login to a locked account", r, 429)

	// Refresh rotation and reuse.
	r = s.do("POST", "/auth/refresh", "", "", map[string]string{"refresh_token": set.RefreshToken})
	want(t, "refresh", r, 200)
	var set2 struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.json(t, &set2)
	if set2.RefreshToken == set.RefreshToken || set2.AccessToken == "" {
		t.Fatalf("refresh did not rotate: %s", r.body)
	}
	want(t, "reuse of a spent refresh token", s.do("POST", "/auth/refresh", "", "", map[string]string{"refresh_token": set.RefreshToken}), 401)
	want(t, "refresh token of a revoked family", s.do("POST", "/auth/refresh", "", "", map[string]string{"refresh_token": set2.RefreshToken}), 401)

	// Cache: the second read of a page is a HIT.
	r = s.do("GET", "/api/v1/users?limit=5", tok, "", nil)
	want(t, "list users", r, 200)
	if got := r.header.Get("X-Cache"); got != "MISS" {
		t.Errorf("first list X-Cache = %q; want MISS", got)
	}
	var page usersPage
	r.json(t, &page)
	if len(page.Users) != 5 || page.NextAfter == nil {
		t.Errorf("page = %s", r.body)
	}
	r = s.do("GET", "/api/v1/users?limit=5", tok, "", nil)
	if got := r.header.Get("X-Cache"); got != "HIT" {
		t.Errorf("second list X-Cache = %q; want HIT", got)
	}
	r = s.do("GET", fmt.Sprintf("/api/v1/users?limit=500&after=%d", *page.NextAfter), tok, "", nil)
	want(t, "second page", r, 200)
	want(t, "bad limit", s.do("GET", "/api/v1/users?limit=0", tok, "", nil), 422)

	// CSV export.
	r = s.do("GET", "/export/users.csv", tok, "", nil)
	want(t, "export", r, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("export Content-Type = %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
		t.Errorf("export Content-Disposition = %q", cd)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	if len(rows) != users+1 || strings.Join(rows[0], ",") != "id,username,email,bio,status,created_at" {
		t.Errorf("export has %d rows (header %v); want %d", len(rows), rows[0], users+1)
	}
	for _, row := range rows {
		if row[1] == "locky_user" && !strings.HasPrefix(row[3], "Formula") {
			t.Errorf("bio = %q", row[3])
		}
	}

	// Logout revokes the access token.
	r = s.do("POST", "/auth/login", "", "198.51.100.2", map[string]string{"username": s.admin, "password": s.adminPW})
	want(t, "second admin login", r, 200)
	var set3 struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.json(t, &set3)
	want(t, "logout", s.do("POST", "/auth/logout", set3.AccessToken, "", map[string]string{"refresh_token": set3.RefreshToken}), 204)
	want(t, "access token after logout", s.do("GET", "/api/v1/users/1", set3.AccessToken, "", nil), 401)
	want(t, "refresh token after logout", s.do("POST", "/auth/refresh", "", "", map[string]string{"refresh_token": set3.RefreshToken}), 401)

	// Metrics: labelled by route pattern, never by raw path, and every
	// metric the deploy assets use is exposed.
	r = s.internal("/metrics")
	want(t, "metrics", r, 200)
	text := string(r.body)
	for _, wantSeries := range []string{`endpoint="/api/v1/users/{id}"`, `endpoint="/auth/login"`, `status="429"`, `endpoint="/export/users.csv"`} {
		if !strings.Contains(text, wantSeries) {
			t.Errorf("/metrics has no series with %s", wantSeries)
		}
	}
	if strings.Contains(text, fmt.Sprintf(`endpoint="/api/v1/users/%d"`, created.ID)) {
		t.Errorf("/metrics labels a raw path")
	}
	for _, expr := range deployExpressions(t) {
		for _, name := range metricNames(expr) {
			if !strings.Contains(text, "\n"+name+"{") && !strings.Contains(text, "\n"+name+" ") {
				t.Errorf("deploy assets use metric %s (in %q), which /metrics does not expose", name, expr)
			}
		}
	}

	// Graceful shutdown: readiness fails at once, the server keeps
	// answering through the drain delay, then stops.
	s.cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r = s.do("GET", "/ready", "", "", nil)
		if r.status == 503 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want(t, "GET /ready while draining", r, 503)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Serve after shutdown: %v", err)
		}
		s.done <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("server still running 30s after shutdown began")
	}
	if _, err := client.Get(s.base + "/health"); err == nil || !isConnRefused(err) {
		t.Errorf("GET /health after shutdown: err = %v; want connection refused", err)
	}
}

func isConnRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || strings.Contains(err.Error(), "refused")
}
