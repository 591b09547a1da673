package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/testenv"
)

// raw sends a request with exactly the given headers and body.
func (s *server) raw(method, path string, header map[string]string, body []byte) resp {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: data}
	if res.StatusCode != http.StatusPermanentRedirect {
		checkSecurityHeaders(s.t, method+" "+path, r)
	}
	return r
}

var noRedirect = &http.Client{
	Timeout:       client.Timeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// login returns an access token for username.
func (s *server) login(username, password string) string {
	s.t.Helper()
	r := s.do("POST", "/auth/login", "", "", map[string]string{"username": username, "password": password})
	want(s.t, "login "+username, r, 200)
	var set struct {
		AccessToken string `json:"access_token"`
	}
	r.json(s.t, &set)
	return set.AccessToken
}

func TestHostCheckBeforeRedirect(t *testing.T) {
	env := baseEnv(t)
	env["FORCE_HTTPS"] = "true"
	env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
	env["TRUSTED_PROXIES"] = ""
	s := startServer(t, env)

	r := s.raw("GET", "/api/v1/users?x=1", map[string]string{"Host": "evil.example"}, nil)
	if r.status == http.StatusPermanentRedirect || strings.Contains(r.header.Get("Location"), "evil") {
		t.Fatalf("GET with Host evil.example = %d Location %q; want a refusal, never a redirect", r.status, r.header.Get("Location"))
	}
	if r.status != http.StatusBadRequest && r.status != http.StatusMisdirectedRequest && r.status != http.StatusForbidden {
		t.Errorf("GET with Host evil.example = %d %s; want 400, 403 or 421", r.status, r.body)
	}
	// Unknown paths and preflights of a bad host are refused too.
	if r := s.raw("GET", "/nowhere", map[string]string{"Host": "evil.example"}, nil); r.status == http.StatusPermanentRedirect {
		t.Errorf("GET /nowhere with Host evil.example redirected to %q", r.header.Get("Location"))
	}

	r = s.raw("GET", "/api/v1/users?x=1", map[string]string{"Host": "localhost"}, nil)
	if r.status != http.StatusPermanentRedirect || r.header.Get("Location") != "https://localhost/api/v1/users?x=1" {
		t.Errorf("GET with Host localhost = %d Location %q; want 308 to https://localhost/api/v1/users?x=1", r.status, r.header.Get("Location"))
	}
	// Probes are served over plain HTTP and whatever the Host (kubelets
	// use the pod address).
	for _, p := range []string{"/health", "/ready", "/ready/database"} {
		for _, host := range []string{"localhost", "10.1.2.3:8080"} {
			if r := s.raw("GET", p, map[string]string{"Host": host}, nil); r.status != http.StatusOK {
				t.Errorf("GET %s (Host %s) = %d Location %q; want 200", p, host, r.status, r.header.Get("Location"))
			}
		}
	}
}

func TestCORSPreflightOnEveryBrowserRoute(t *testing.T) {
	env := baseEnv(t)
	env["CORS_ALLOW_ORIGINS"] = "https://app.example.com"
	s := startServer(t, env)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/auth/login"}, {"POST", "/auth/refresh"}, {"POST", "/auth/logout"},
		{"GET", "/api/v1/users"}, {"POST", "/api/v1/users"}, {"GET", "/export/users.csv"},
	} {
		r := s.raw("OPTIONS", tc.path, map[string]string{
			"Origin":                         "https://app.example.com",
			"Access-Control-Request-Method":  tc.method,
			"Access-Control-Request-Headers": "authorization,content-type",
		}, nil)
		if r.status >= 300 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Errorf("preflight %s %s = %d, Access-Control-Allow-Origin %q; want 2xx and the origin", tc.method, tc.path, r.status, r.header.Get("Access-Control-Allow-Origin"))
		}
	}
	// The actual cross-origin login carries the CORS headers too.
	r := s.raw("POST", "/auth/login", map[string]string{"Origin": "https://app.example.com", "Content-Type": "application/json"},
		[]byte(`{"username":"admin","password":"correct horse battery staple"}`))
	want(t, "cross-origin login", r, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("cross-origin login: Access-Control-Allow-Origin %q, -Credentials %q", r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Credentials"))
	}
	// Another origin gets no grant.
	r = s.raw("OPTIONS", "/auth/login", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, nil)
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("preflight from another origin: Access-Control-Allow-Origin %q", got)
	}
}

func TestMethodsAllowAndHead(t *testing.T) {
	s := startServer(t, baseEnv(t))
	tok := s.login(s.admin, s.adminPW)
	for _, tc := range []struct {
		method, path, allow string
	}{
		{"DELETE", "/api/v1/users", "GET, HEAD, POST"},
		{"PUT", "/auth/login", "POST"},
		{"POST", "/health", "GET, HEAD"},
		{"DELETE", "/ready/database", "GET, HEAD"},
		{"POST", "/export/users.csv", "GET, HEAD"},
	} {
		r := s.raw(tc.method, tc.path, map[string]string{"Authorization": "Bearer " + tok}, nil)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d, Allow %q; want 405 with Allow %q", tc.method, tc.path, r.status, r.header.Get("Allow"), tc.allow)
		}
	}
	for _, p := range []string{"/health", "/ready", "/ready/database", "/api/v1/users", "/api/v1/users/1", "/export/users.csv"} {
		r := s.raw("HEAD", p, map[string]string{"Authorization": "Bearer " + tok}, nil)
		if r.status != http.StatusOK || len(r.body) != 0 {
			t.Errorf("HEAD %s = %d with %d body bytes; want 200 and no body", p, r.status, len(r.body))
		}
	}
}

// fieldProblem returns the 422 body's field names.
func fieldProblem(t *testing.T, r resp) []string {
	t.Helper()
	var p struct {
		Errors []fieldError `json:"errors"`
	}
	r.json(t, &p)
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func TestStrictInputEmbedded(t *testing.T) { strictInput(t, startServer(t, baseEnv(t))) }

func TestStrictInputPostgres(t *testing.T) {
	pg := testenv.NewPostgres(t)
	env := baseEnv(t)
	env["DATABASE_URL"] = pg.URL
	strictInput(t, startServer(t, env))
}

func strictInput(t *testing.T, s *server) {
	tok := s.login(s.admin, s.adminPW)
	post := func(path, ctype, body string) resp {
		t.Helper()
		h := map[string]string{"Authorization": "Bearer " + tok}
		if ctype != "" {
			h["Content-Type"] = ctype
		}
		return s.raw("POST", path, h, []byte(body))
	}
	const good = `"email":"%s@example.org","bio":"hi","password":"a long enough passphrase"`
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		field             string
	}{
		{"NUL in bio", "application/json", `{"username":"nul_bio","email":"nul@example.org","bio":"a\u0000b","password":"a long enough passphrase"}`, 422, "bio"},
		{"NUL in username", "application/json", `{"username":"nul\u0000x",` + fmt.Sprintf(good, "nul2") + `}`, 422, "username"},
		{"invalid UTF-8 in bio", "application/json", "{\"username\":\"utf_bio\",\"email\":\"utf@example.org\",\"bio\":\"a\xffb\",\"password\":\"a long enough passphrase\"}", 400, ""},
		{"lone surrogate", "application/json", `{"username":"sur_bio","email":"sur@example.org","bio":"a\ud800b","password":"a long enough passphrase"}`, 400, ""},
		{"duplicate field", "application/json", `{"username":"dup_one","username":"admin",` + fmt.Sprintf(good, "dup") + `}`, 400, ""},
		{"unknown field", "application/json", `{"username":"unk_one","role":"admin",` + fmt.Sprintf(good, "unk") + `}`, 400, ""},
		{"trailing data", "application/json", `{"username":"trail_one",` + fmt.Sprintf(good, "trail") + `} {"x":1}`, 400, ""},
		{"trailing garbage", "application/json", `{"username":"trail_two",` + fmt.Sprintf(good, "trail2") + `} xyz`, 0, ""},
		{"array", "application/json", `[{"username":"arr_one"}]`, 400, ""},
		{"wrong type", "application/json", `{"username":7,` + fmt.Sprintf(good, "typ") + `}`, 400, ""},
		{"member name in another case", "application/json", `{"Username":"case_one",` + fmt.Sprintf(good, "case") + `}`, 400, ""},
		{"long s in a member name", "application/json", `{"u\u017fername":"longs_one",` + fmt.Sprintf(good, "longs") + `}`, 400, ""},
		{"repeated member in another case", "application/json", `{"username":"rep_one","USERNAME":"admin",` + fmt.Sprintf(good, "rep") + `}`, 400, ""},
		{"+json media type", "application/merge-patch+json", `{"username":"merge_one",` + fmt.Sprintf(good, "merge") + `}`, 415, ""},
		{"kelvin sign in username", "application/json", `{"username":"\u212Aate",` + fmt.Sprintf(good, "kelvin") + `}`, 422, "username"},
		{"fullwidth username", "application/json", `{"username":"\uFF41dmin",` + fmt.Sprintf(good, "fullwidth") + `}`, 422, "username"},
		{"text/plain", "text/plain", `{"username":"plain_one",` + fmt.Sprintf(good, "plain") + `}`, 415, ""},
		{"no content type", "", `{"username":"none_one",` + fmt.Sprintf(good, "none") + `}`, 415, ""},
		{"json with charset", "application/json; charset=utf-8", `{"username":"charset_one",` + fmt.Sprintf(good, "charset") + `}`, 201, ""},
		{"escaped U+FFFD is fine", "application/json", `{"username":"fffd_one","email":"fffd@example.org","bio":"a\ufffdb \uFFFD","password":"a long enough passphrase"}`, 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post("/api/v1/users", tc.ctype, tc.body)
			if tc.status == 0 {
				if r.status != 400 && r.status != 422 {
					t.Fatalf("%s = %d %s; want 400 or 422", tc.name, r.status, r.body)
				}
				return
			}
			if r.status != tc.status {
				t.Fatalf("%s = %d %s; want %d", tc.name, r.status, r.body, tc.status)
			}
			if tc.field != "" {
				if got := fieldProblem(t, r); len(got) != 1 || got[0] != tc.field {
					t.Errorf("%s: fields %v; want [%s] (%s)", tc.name, got, tc.field, r.body)
				}
			}
		})
	}
	// NUL in a login field is bad input, not a server error.
	r := s.raw("POST", "/auth/login", map[string]string{"Content-Type": "application/json"}, []byte(`{"username":"ad\u0000min","password":"x"}`))
	if r.status != 422 || !strings.Contains(string(r.body), "username") {
		t.Errorf("login with NUL = %d %s; want 422 naming username", r.status, r.body)
	}

	// Usernames are unique whatever their case, and stored lower case.
	mk := func(username, email string) resp {
		body, _ := json.Marshal(map[string]string{"username": username, "email": email, "bio": "", "password": "a long enough passphrase"})
		return post("/api/v1/users", "application/json", string(body))
	}
	r = mk("Case_User", "case1@example.org")
	want(t, "create Case_User", r, 201)
	var u user
	r.json(t, &u)
	if u.Username != "case_user" {
		t.Errorf("created username %q; want case_user", u.Username)
	}
	want(t, "create case_user", mk("case_user", "case2@example.org"), 409)
	want(t, "create CASE_USER", mk("CASE_USER", "case3@example.org"), 409)
	want(t, "create ADMIN", mk("ADMIN", "admin2@example.org"), 409)
	// Login works in any case.
	s.login("CASE_User", "a long enough passphrase")
}

func TestRoles(t *testing.T) {
	s := startServer(t, baseEnv(t))
	admin := s.login(s.admin, s.adminPW)
	mk := func(username string) user {
		r := s.do("POST", "/api/v1/users", admin, "", map[string]string{"username": username, "email": username + "@example.org", "bio": "bio of " + username, "password": "a long enough passphrase"})
		want(t, "create "+username, r, 201)
		var u user
		r.json(t, &u)
		return u
	}
	alice, bob := mk("alice"), mk("bob")
	tok := s.login("alice", "a long enough passphrase")

	r := s.do("POST", "/api/v1/users", tok, "", map[string]string{"username": "mallory", "email": "m@example.org", "bio": "", "password": "a long enough passphrase"})
	want(t, "create user without admin", r, 403)
	if r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("403 Content-Type = %q", r.header.Get("Content-Type"))
	}
	want(t, "export without admin", s.do("GET", "/export/users.csv", tok, "", nil), 403)

	// Own record in full.
	r = s.do("GET", fmt.Sprintf("/api/v1/users/%d", alice.ID), tok, "", nil)
	want(t, "own record", r, 200)
	if !strings.Contains(string(r.body), `"email":"alice@example.org"`) {
		t.Errorf("own record = %s; want the email", r.body)
	}
	// Someone else's: public fields only.
	r = s.do("GET", fmt.Sprintf("/api/v1/users/%d", bob.ID), tok, "", nil)
	want(t, "other record", r, 200)
	var other map[string]any
	r.json(t, &other)
	for _, f := range []string{"email", "status"} {
		if _, ok := other[f]; ok {
			t.Errorf("other user's record shows %s: %s", f, r.body)
		}
	}
	if other["username"] != "bob" || other["bio"] != "bio of bob" {
		t.Errorf("other user's record = %s", r.body)
	}
	r = s.do("GET", "/api/v1/users?limit=500", tok, "", nil)
	want(t, "list as a user", r, 200)
	if strings.Contains(string(r.body), "@") || strings.Contains(string(r.body), `"status"`) {
		t.Errorf("the list shows private fields to a user: %.300s", r.body)
	}
	// The admin sees everything.
	r = s.do("GET", "/api/v1/users?limit=500", admin, "", nil)
	if !strings.Contains(string(r.body), "bob@example.org") {
		t.Errorf("the admin's list lacks emails: %.300s", r.body)
	}
	r = s.do("GET", fmt.Sprintf("/api/v1/users/%d", bob.ID), admin, "", nil)
	if !strings.Contains(string(r.body), "bob@example.org") {
		t.Errorf("the admin's view of bob lacks the email: %s", r.body)
	}
}

func TestInternalEndpointsArePrivate(t *testing.T) {
	env := baseEnv(t)
	env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
	s := startServer(t, env)
	for _, p := range []string{"/metrics", "/metrics/health", "/debug/pprof/", "/debug/pprof/cmdline"} {
		for _, host := range []string{"localhost", "10.0.0.1"} {
			if r := s.raw("GET", p, map[string]string{"Host": host}, nil); r.status < 400 {
				t.Errorf("public GET %s (Host %s) = %d; want it absent", p, host, r.status)
			}
		}
	}
	for _, p := range []string{"/metrics", "/metrics/health", "/debug/pprof/", "/debug/pprof/cmdline"} {
		want(t, "internal GET "+p, s.internal(p), 200)
	}
	r := s.internal("/metrics/health")
	dir := env["DATA_DIR"]
	if strings.Contains(string(r.body), dir) || strings.Contains(string(r.body), `"/`) {
		t.Errorf("/metrics/health discloses a path: %s", r.body)
	}
}

func TestSigningKeyRotation(t *testing.T) {
	oldKey, newKey := "old:"+strings.Repeat("o", 32), "new:"+strings.Repeat("n", 32)
	start := func(keys string) *server {
		env := baseEnv(t)
		env["APP_NAME"] = "covet-rotation"
		env["SIGNING_KEYS"] = keys
		return startServer(t, env)
	}
	before := start(oldKey)
	tok := before.login(before.admin, before.adminPW)
	me := fmt.Sprintf("/api/v1/users/%d", 121) // 120 seeded users, then the admin

	// After the rotation the new key signs and the old one still verifies.
	after := start(newKey + "," + oldKey)
	want(t, "old token after rotation", after.do("GET", me, tok, "", nil), 200)
	fresh := after.login(after.admin, after.adminPW)
	if kid := tokenKID(t, fresh); kid != "new" {
		t.Errorf("a token issued after the rotation has kid %q; want new", kid)
	}
	if kid := tokenKID(t, tok); kid != "old" {
		t.Errorf("a token issued before the rotation has kid %q; want old", kid)
	}
	// Once the old key is dropped, its tokens stop working.
	dropped := start(newKey)
	want(t, "old token after the old key is dropped", dropped.do("GET", me, tok, "", nil), 401)
	want(t, "new token after the old key is dropped", dropped.do("GET", me, fresh, "", nil), 200)
}

func tokenKID(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	data, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h.KID
}

// startRedis runs a private redis-server with the given eviction policy and
// returns its URL; the shared server's configuration is never changed.
func startRedis(t *testing.T, policy string) string {
	t.Helper()
	u, _ := startRedisProcess(t, policy)
	return u
}

// startRedisProcess is startRedis that also returns the server's process,
// for tests that freeze it.
func startRedisProcess(t *testing.T, policy string) (string, *os.Process) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if testenv.RequireServices() {
			t.Fatalf("redis-server not found: %v", err)
		}
		t.Skipf("redis-server not found: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--maxmemory", "64mb", "--maxmemory-policy", policy)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	u := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	opt, _ := redis.ParseURL(u)
	c := redis.NewClient(opt)
	defer c.Close()
	for i := 0; ; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return u, cmd.Process
		}
		if i > 200 {
			t.Fatalf("private redis-server on port %d did not answer", port)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestProductionRefusesEvictingRedis(t *testing.T) {
	pg := testenv.NewPostgres(t)
	evicting := startRedis(t, "allkeys-lru")
	shared := testenv.NewRedis(t)
	env := func(over map[string]string) func(string) string {
		e := prodEnv(map[string]string{"DATABASE_URL": pg.URL, "REDIS_URL": evicting, "ALLOW_INSECURE_TRANSPORT": "true",
			"APP_NAME": strings.TrimSuffix(shared.Prefix, ":"), "DATA_DIR": t.TempDir(), "SEED_USERS": "0"})
		for k, v := range over {
			e[k] = v
		}
		return func(k string) string { return e[k] }
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	cfg, err := LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if a, err := start(t.Context(), cfg, log); !errors.Is(err, errEvictingRedis) {
		if a != nil {
			_ = a.Close()
		}
		t.Fatalf("New with an allkeys-lru Redis = %v; want ErrEvictingRedis", err)
	}

	// The cache may stay on the evicting Redis when the security state has
	// its own, non-evicting one.
	cfg, err = LoadConfig(env(map[string]string{"REDIS_SECURITY_URL": shared.URL}))
	if err != nil {
		t.Fatal(err)
	}
	a, err := start(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("New with REDIS_SECURITY_URL on a noeviction Redis: %v", err)
	}
	defer a.Close()
	if a.secRDB == a.rdb {
		t.Fatal("security state shares the cache's Redis")
	}
	// Security keys land on the security Redis, cache keys on the other.
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/auth/login", strings.NewReader(`{"username":"admin","password":"wrong password here"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Host = "api.example.com"
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 && res.StatusCode != 308 {
		t.Fatalf("login = %d", res.StatusCode)
	}
	// Explicitly off: the check is skipped (for providers that hide CONFIG).
	cfg, err = LoadConfig(env(map[string]string{"REDIS_POLICY_CHECK": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := start(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("New with REDIS_POLICY_CHECK=false: %v", err)
	}
	_ = b.Close()
}
