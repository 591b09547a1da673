package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/password"
	"github.com/covetgo/covet/testenv"
)

// locker locks an account after three failures until unlock; enough of a
// lockout to see the login handler answer it.
type locker struct {
	mu       sync.Mutex
	failures map[string]int
	until    time.Time
	now      func() time.Time
}

func (l *locker) Check(_ context.Context, account string) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures[account] >= 3 {
		return l.until, nil
	}
	return time.Time{}, nil
}

func (l *locker) Fail(_ context.Context, account string) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures[account]++
	return time.Time{}, nil
}

func (l *locker) Succeed(_ context.Context, account string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, account)
	return nil
}

// server is an Auth with its login, refresh and logout handlers and a route
// behind the middleware, on a MemoryStore sharing a test clock.
type server struct {
	auth *jwtauth.Default
	clk  *testenv.Clock
	mux  *http.ServeMux
	lock *locker
	// checks counts calls of the password check.
	checks int
}

const (
	testUser     = "ada"
	testPassword = "correct horse battery staple"
)

func newServer(t *testing.T, opts ...jwtauth.Option) *server {
	t.Helper()
	clk := testenv.NewClock(time.Now().Truncate(time.Second))
	store, err := jwtauth.NewMemoryStore(jwtauth.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	opts = append([]jwtauth.Option{jwtauth.WithClock(clk.Now), jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store)}, opts...)
	auth, err := jwtauth.New[jwtauth.Claims](ring, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{auth: auth, clk: clk, mux: http.NewServeMux(),
		lock: &locker{failures: map[string]int{}, until: clk.Now().Add(time.Minute), now: clk.Now}}

	hasher, err := password.NewHasher(password.WithArgon2(7*1024, 5, 1))
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := hasher.Hash(testPassword)
	lookup := func(_ context.Context, account string) (string, string, error) {
		if account != testUser {
			return "", "", password.ErrUnknownAccount
		}
		return "user-1", stored, nil
	}
	login, err := password.NewLogin(hasher, lookup, s.lock)
	if err != nil {
		t.Fatal(err)
	}
	check := func(ctx context.Context, username, pw string) (jwtauth.Claims, error) {
		s.checks++
		id, _, err := login.Authenticate(ctx, username, pw)
		if errors.Is(err, password.ErrInvalidCredentials) {
			return jwtauth.Claims{}, jwtauth.ErrInvalidCredentials
		}
		if err != nil {
			return jwtauth.Claims{}, err
		}
		c := jwtauth.Claims{Username: username}
		c.Subject = id
		return c, nil
	}
	load := func(_ context.Context, subject string) (jwtauth.Claims, error) {
		c := jwtauth.Claims{}
		c.Subject = subject
		return c, nil
	}
	lh, err := auth.LoginHandler(check)
	if err != nil {
		t.Fatal(err)
	}
	rh, err := auth.RefreshHandler(load)
	if err != nil {
		t.Fatal(err)
	}
	oh, err := auth.LogoutHandler()
	if err != nil {
		t.Fatal(err)
	}
	s.mux.Handle("POST /login", lh)
	s.mux.Handle("POST /refresh", rh)
	s.mux.Handle("POST /logout", oh)
	s.mux.Handle("GET /me", auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	return s
}

// do sends a request with a JSON body (none when body is "") and extra
// headers given as name, value pairs.
func (s *server) do(method, path, body string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	return w
}

func (s *server) login(t *testing.T) jwtauth.TokenSet {
	t.Helper()
	w := s.do("POST", "/login", `{"username":"ada","password":"`+testPassword+`"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("login = %d %s; want 200", w.Code, w.Body)
	}
	var set jwtauth.TokenSet
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	return set
}

func refreshBody(token string) string { return `{"refresh_token":"` + token + `"}` }

// wantProblem checks a refusal: status, problem+json, no-store, and the
// WWW-Authenticate challenge ("" for none).
func wantProblem(t *testing.T, name string, w *httptest.ResponseRecorder, status int, challenge string) {
	t.Helper()
	if w.Code != status {
		t.Errorf("%s = %d %s; want %d", name, w.Code, w.Body, status)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s Content-Type = %q; want application/problem+json", name, ct)
	}
	if got := w.Header().Get("WWW-Authenticate"); got != challenge {
		t.Errorf("%s WWW-Authenticate = %q; want %q", name, got, challenge)
	}
	if strings.Contains(w.Body.String(), "jwtauth:") || strings.Contains(w.Body.String(), "password:") {
		t.Errorf("%s body leaks an error: %s", name, w.Body)
	}
}

func TestLoginHandler(t *testing.T) {
	s := newServer(t, jwtauth.WithoutCookies())
	w := s.do("POST", "/login", `{"username":"ada","password":"`+testPassword+`"}`)
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("login = %d %v; want 200, no-store, application/json", w.Code, w.Header())
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"access_token", "refresh_token", "csrf_token", "token_type", "expires_in"} {
		if _, ok := m[k]; !ok {
			t.Errorf("login body %s lacks %q", w.Body, k)
		}
	}
	token, _ := m["access_token"].(string)
	if w := s.do("GET", "/me", "", "Authorization", "Bearer "+token); w.Code != http.StatusOK {
		t.Errorf("GET /me with the issued token = %d; want 200", w.Code)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Errorf("WithoutCookies login set cookies %v", w.Result().Cookies())
	}
}

func TestLoginHandlerBadRequests(t *testing.T) {
	s := newServer(t, jwtauth.WithoutCookies())
	long := strings.Repeat("x", 1025)
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
	}{
		{"not JSON", `username=ada`, "", 400},
		{"empty body", ``, "application/json", 400},
		{"array", `[]`, "", 400},
		{"unknown member", `{"username":"ada","password":"x","remember":"1"}`, "", 400},
		{"duplicate member", `{"username":"ada","username":"bob","password":"x"}`, "", 400},
		{"member name in another case", `{"Username":"ada","password":"x"}`, "", 400},
		{"trailing data", `{"username":"ada","password":"x"} {}`, "", 400},
		{"trailing garbage", `{"username":"ada","password":"x"}x`, "", 400},
		{"number", `{"username":"ada","password":1234}`, "", 400},
		{"null", `{"username":"ada","password":null}`, "", 400},
		{"nested object", `{"username":{"a":"b"},"password":"x"}`, "", 400},
		{"invalid UTF-8", "{\"username\":\"\xff\",\"password\":\"x\"}", "", 400},
		{"missing password", `{"username":"ada"}`, "", 400},
		{"empty username", `{"username":"","password":"x"}`, "", 400},
		{"password too long", `{"username":"ada","password":"` + long + `"}`, "", 400},
		{"too large", `{"username":"ada","password":"` + strings.Repeat("x", 17<<10) + `"}`, "", 413},
		{"form content type", `{"username":"ada","password":"x"}`, "application/x-www-form-urlencoded", 415},
		{"no content type", `{"username":"ada","password":"x"}`, "-", 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/login", strings.NewReader(tt.body))
			switch tt.contentType {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			before := s.checks
			s.mux.ServeHTTP(w, r)
			wantProblem(t, "login("+tt.name+")", w, tt.status, "")
			if s.checks != before {
				t.Errorf("login(%s) ran the password check", tt.name)
			}
		})
	}
}

func TestLoginHandlerWrongPasswordAndLockout(t *testing.T) {
	s := newServer(t, jwtauth.WithoutCookies())
	for _, body := range []string{`{"username":"ada","password":"wrong"}`, `{"username":"nobody","password":"wrong"}`} {
		wantProblem(t, "login(wrong)", s.do("POST", "/login", body), http.StatusUnauthorized, "Bearer")
	}
	// Two more failures of ada lock her account (three in all).
	for range 2 {
		s.do("POST", "/login", `{"username":"ada","password":"wrong"}`)
	}
	s.clk.Add(10 * time.Second)
	w := s.do("POST", "/login", `{"username":"ada","password":"`+testPassword+`"}`)
	wantProblem(t, "login(locked)", w, http.StatusTooManyRequests, "")
	if got := w.Header().Get("Retry-After"); got != "50" {
		t.Errorf("locked login Retry-After = %q; want 50 (the lock ends a minute after it began)", got)
	}
}

func TestRefreshHandlerRotationAndReuse(t *testing.T) {
	s := newServer(t, jwtauth.WithoutCookies())
	first := s.login(t)
	w := s.do("POST", "/refresh", refreshBody(first.RefreshToken))
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("refresh = %d %v; want 200 no-store", w.Code, w.Header())
	}
	var second jwtauth.TokenSet
	_ = json.Unmarshal(w.Body.Bytes(), &second)
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh returned refresh token %q; want a new one", second.RefreshToken)
	}
	// The spent token again: reuse, the whole family is revoked.
	wantProblem(t, "refresh(reused)", s.do("POST", "/refresh", refreshBody(first.RefreshToken)), http.StatusUnauthorized, `Bearer error="invalid_token"`)
	wantProblem(t, "refresh(descendant of reused)", s.do("POST", "/refresh", refreshBody(second.RefreshToken)), http.StatusUnauthorized, `Bearer error="invalid_token"`)

	for _, tt := range []struct {
		name, body string
		status     int
		challenge  string
	}{
		{"garbage token", refreshBody("x.y"), 401, `Bearer error="invalid_token"`},
		{"no token", `{"refresh_token":""}`, 400, ""},
		{"no body", ``, 415, ""},
		{"unknown member", `{"refresh_token":"x","access_token":"y"}`, 400, ""},
	} {
		wantProblem(t, "refresh("+tt.name+")", s.do("POST", "/refresh", tt.body), tt.status, tt.challenge)
	}
}

func TestLogoutHandler(t *testing.T) {
	s := newServer(t, jwtauth.WithoutCookies())
	set := s.login(t)
	w := s.do("POST", "/logout", refreshBody(set.RefreshToken), "Authorization", "Bearer "+set.AccessToken)
	if w.Code != http.StatusNoContent {
		t.Fatalf("logout = %d %s; want 204", w.Code, w.Body)
	}
	wantProblem(t, "refresh(after logout)", s.do("POST", "/refresh", refreshBody(set.RefreshToken)), http.StatusUnauthorized, `Bearer error="invalid_token"`)
	wantProblem(t, "GET /me(after logout)", s.do("GET", "/me", "", "Authorization", "Bearer "+set.AccessToken), http.StatusUnauthorized, `Bearer error="invalid_token"`)
	// Nothing, or nothing valid, to revoke: still 204.
	for _, tt := range [][]string{
		{"", ""},
		{refreshBody("garbage"), "Bearer garbage"},
		{refreshBody(set.RefreshToken), "Bearer " + set.AccessToken},
	} {
		if w := s.do("POST", "/logout", tt[0], "Authorization", tt[1]); w.Code != http.StatusNoContent {
			t.Errorf("logout(%q, %q) = %d; want 204", tt[0], tt[1], w.Code)
		}
	}
	if w := s.do("POST", "/logout", `{"refresh_token":1}`); w.Code != http.StatusBadRequest {
		t.Errorf("logout(bad body) = %d; want 400", w.Code)
	}
}

func TestHandlersWithCookies(t *testing.T) {
	s := newServer(t)
	w := s.do("POST", "/login", `{"username":"ada","password":"`+testPassword+`"}`, "Sec-Fetch-Site", "same-origin")
	if w.Code != http.StatusOK {
		t.Fatalf("login = %d %s", w.Code, w.Body)
	}
	var m map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	if _, ok := m["access_token"]; ok || m["csrf_token"] == nil {
		t.Errorf("cookie login body = %s; want the CSRF token and no access or refresh token", w.Body)
	}
	cookies := map[string]string{}
	for _, c := range w.Result().Cookies() {
		cookies[c.Name] = c.Value
	}
	if cookies["__Host-access"] == "" || cookies["__Host-refresh"] == "" {
		t.Fatalf("cookie login set %v; want access and refresh cookies", cookies)
	}
	send := func(path, site, refresh string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, nil)
		r.Header.Set("Sec-Fetch-Site", site)
		r.AddCookie(&http.Cookie{Name: "__Host-refresh", Value: refresh})
		w := httptest.NewRecorder()
		s.mux.ServeHTTP(w, r)
		return w
	}
	if w := send("/refresh", "cross-site", cookies["__Host-refresh"]); w.Code != http.StatusForbidden {
		t.Errorf("cross-site refresh = %d; want 403", w.Code)
	}
	w = send("/refresh", "same-origin", cookies["__Host-refresh"])
	if w.Code != http.StatusOK {
		t.Fatalf("refresh from the cookie = %d %s; want 200", w.Code, w.Body)
	}
	next := ""
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-refresh" {
			next = c.Value
		}
	}
	if w := send("/logout", "cross-site", next); w.Code != http.StatusForbidden {
		t.Errorf("cross-site logout = %d; want 403", w.Code)
	}
	if w := send("/logout", "same-origin", next); w.Code != http.StatusNoContent || len(w.Result().Cookies()) != 3 {
		t.Errorf("logout = %d, cookies %v; want 204 clearing three cookies", w.Code, w.Result().Cookies())
	}
	w = send("/refresh", "same-origin", next)
	if w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 3 {
		t.Errorf("refresh after logout = %d, cookies %v; want 401 clearing the cookies", w.Code, w.Result().Cookies())
	}
	wl := s.do("POST", "/login", `{"username":"ada","password":"`+testPassword+`"}`, "Sec-Fetch-Site", "cross-site")
	if wl.Code != http.StatusForbidden {
		t.Errorf("cross-site login = %d; want 403", wl.Code)
	}
}

// downStore fails every call as a store in an outage does.
type downStore struct{}

var errDown = fmt.Errorf("%w: test outage", jwtauth.ErrStoreUnavailable)

func (downStore) CreateRefresh(context.Context, jwtauth.RefreshToken) error { return errDown }
func (downStore) RotateRefresh(context.Context, string, jwtauth.RefreshToken) (jwtauth.RefreshToken, error) {
	return jwtauth.RefreshToken{}, errDown
}
func (downStore) RevokeFamily(context.Context, string) error { return errDown }

func TestHandlersStoreDown(t *testing.T) {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	auth, _ := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithoutCookies(), jwtauth.WithRefreshStore(downStore{}))
	check := func(_ context.Context, u, _ string) (jwtauth.Claims, error) {
		c := jwtauth.Claims{}
		c.Subject = u
		return c, nil
	}
	load := func(_ context.Context, s string) (jwtauth.Claims, error) { return check(context.Background(), s, "") }
	lh, _ := auth.LoginHandler(check)
	rh, _ := auth.RefreshHandler(load)
	oh, _ := auth.LogoutHandler()
	valid := "AAAAAAAAAAAAAAAAAAAAAA." + strings.Repeat("A", 43)
	for _, tt := range []struct {
		name string
		h    http.Handler
		body string
	}{
		{"login", lh, `{"username":"ada","password":"x"}`},
		{"refresh", rh, refreshBody(valid)},
		{"logout", oh, refreshBody(valid)},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		tt.h.ServeHTTP(w, r)
		wantProblem(t, tt.name+"(store down)", w, http.StatusServiceUnavailable, "")
		if w.Header().Get("Retry-After") == "" {
			t.Errorf("%s(store down) has no Retry-After", tt.name)
		}
	}
}

func TestHandlerConstruction(t *testing.T) {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	bare, _ := jwtauth.New[jwtauth.Claims](ring)
	load := func(context.Context, string) (jwtauth.Claims, error) { return jwtauth.Claims{}, nil }
	for name, err := range map[string]error{
		"LoginHandler(nil)":                  second(bare.LoginHandler(nil)),
		"RefreshHandler(nil)":                second(newServer(t).auth.RefreshHandler(nil)),
		"RefreshHandler without a store":     second(bare.RefreshHandler(load)),
		"LogoutHandler with nothing to undo": second(bare.LogoutHandler()),
	} {
		if !errors.Is(err, jwtauth.ErrInvalidConfig) {
			t.Errorf("%s = %v; want ErrInvalidConfig", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestHandlersExpiry lets the token lifetimes run out on synctest's fake
// clock: time.Now is fake inside the bubble, so neither the Auth nor the
// MemoryStore needs a clock of its own.
func TestHandlersExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key, _ := jwtauth.HS256Key("k1", secret)
		ring, _ := jwtauth.NewKeyRing(key)
		store, _ := jwtauth.NewMemoryStore()
		auth, err := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithoutCookies(),
			jwtauth.WithRefreshStore(store), jwtauth.WithRefreshTTL(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		claims := func(_ context.Context, subject, _ string) (jwtauth.Claims, error) {
			c := jwtauth.Claims{}
			c.Subject = subject
			return c, nil
		}
		lh, _ := auth.LoginHandler(claims)
		rh, _ := auth.RefreshHandler(func(ctx context.Context, s string) (jwtauth.Claims, error) { return claims(ctx, s, "") })
		s := &server{auth: auth, mux: http.NewServeMux()}
		s.mux.Handle("POST /login", lh)
		s.mux.Handle("POST /refresh", rh)
		s.mux.Handle("GET /me", auth.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))

		set := s.login(t)
		time.Sleep(15*time.Minute + 29*time.Second) // within the access TTL and the leeway
		if w := s.do("GET", "/me", "", "Authorization", "Bearer "+set.AccessToken); w.Code != http.StatusOK {
			t.Errorf("GET /me in the leeway = %d; want 200", w.Code)
		}
		time.Sleep(time.Second)
		wantProblem(t, "GET /me(expired)", s.do("GET", "/me", "", "Authorization", "Bearer "+set.AccessToken), http.StatusUnauthorized, `Bearer error="invalid_token"`)
		w := s.do("POST", "/refresh", refreshBody(set.RefreshToken))
		if w.Code != http.StatusOK {
			t.Fatalf("refresh after the access token expired = %d; want 200", w.Code)
		}
		_ = json.Unmarshal(w.Body.Bytes(), &set)
		time.Sleep(time.Hour)
		wantProblem(t, "refresh(expired)", s.do("POST", "/refresh", refreshBody(set.RefreshToken)), http.StatusUnauthorized, `Bearer error="invalid_token"`)
	})
}

// BenchmarkRefreshHandler is one rotation through the handler: body
// decoding, the store's rotation, signing and the JSON answer.
func BenchmarkRefreshHandler(b *testing.B) {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	store, _ := jwtauth.NewMemoryStore()
	auth, _ := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithoutCookies(), jwtauth.WithRefreshStore(store))
	load := func(_ context.Context, subject string) (jwtauth.Claims, error) {
		c := jwtauth.Claims{}
		c.Subject = subject
		return c, nil
	}
	h, _ := auth.RefreshHandler(load)
	c := jwtauth.Claims{}
	c.Subject = "user-1"
	set, _ := auth.Issue(context.Background(), c)
	token := set.RefreshToken
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/refresh", strings.NewReader(refreshBody(token)))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("refresh = %d", w.Code)
		}
		var next jwtauth.TokenSet
		_ = json.Unmarshal(w.Body.Bytes(), &next)
		token = next.RefreshToken
	}
}
