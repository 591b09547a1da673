package jwtauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// echo answers 200 with the subject from the context, or "anonymous".
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := ClaimsFromContext(r.Context())
	if !ok {
		_, _ = w.Write([]byte("anonymous"))
		return
	}
	_, _ = w.Write([]byte(c.Subject))
})

type req struct {
	method  string
	bearer  string // "Authorization: Bearer <bearer>" when set
	auth    string // raw Authorization header, when set
	cookie  string // access cookie value, when set
	csrf    string
	headers map[string]string
}

func (q req) build() *http.Request {
	m := q.method
	if m == "" {
		m = http.MethodGet
	}
	r := httptest.NewRequest(m, "https://api.example.com/x", nil)
	if q.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	if q.auth != "" {
		r.Header.Set("Authorization", q.auth)
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: defaultAccessCookie, Value: q.cookie})
	}
	if q.csrf != "" {
		r.Header.Set(CSRFHeader, q.csrf)
	}
	for k, v := range q.headers {
		r.Header.Set(k, v)
	}
	return r
}

func TestMiddleware(t *testing.T) {
	a, _ := newTestAuth(t)
	token, csrf := mustSign(t, a, userClaims("u1"))
	tests := []struct {
		name     string
		handler  http.Handler
		req      req
		status   int
		body     string // substring
		wwwAuth  string
		optional bool
	}{
		{name: "bearer", req: req{bearer: token}, status: 200, body: "u1"},
		{name: "lower-case scheme", req: req{auth: "bearer " + token}, status: 200, body: "u1"},
		{name: "no token", req: req{}, status: 401, wwwAuth: "Bearer"},
		{name: "bad token", req: req{bearer: "x.y.z"}, status: 401, wwwAuth: `Bearer error="invalid_token"`},
		{name: "empty bearer", req: req{auth: "Bearer "}, status: 401, wwwAuth: `Bearer error="invalid_token"`},
		{name: "basic auth ignored", req: req{auth: "Basic dTpw"}, status: 401, wwwAuth: "Bearer"},
		{name: "cookie GET", req: req{cookie: token}, status: 200, body: "u1"},
		{name: "cookie POST with CSRF token", req: req{method: "POST", cookie: token, csrf: csrf}, status: 200, body: "u1"},
		{name: "cookie POST without CSRF token", req: req{method: "POST", cookie: token}, status: 403},
		{name: "cookie POST wrong CSRF token", req: req{method: "POST", cookie: token, csrf: csrf + "x"}, status: 403},
		{name: "cookie DELETE oversized CSRF token", req: req{method: "DELETE", cookie: token, csrf: strings.Repeat("a", 200)}, status: 403},
		{name: "cookie POST cross-site", req: req{method: "POST", cookie: token, csrf: csrf, headers: map[string]string{"Sec-Fetch-Site": "cross-site"}}, status: 403},
		{name: "cookie POST foreign Origin", req: req{method: "POST", cookie: token, csrf: csrf, headers: map[string]string{"Origin": "https://evil.example"}}, status: 403},
		{name: "cookie POST same-origin", req: req{method: "POST", cookie: token, csrf: csrf, headers: map[string]string{"Sec-Fetch-Site": "same-origin"}}, status: 200},
		{name: "bearer POST needs no CSRF token", req: req{method: "POST", bearer: token, headers: map[string]string{"Sec-Fetch-Site": "cross-site"}}, status: 200},
		{name: "bad cookie", req: req{cookie: "garbage"}, status: 401, wwwAuth: `Bearer error="invalid_token"`},
		{name: "optional anonymous", req: req{}, status: 200, body: "anonymous", optional: true},
		{name: "optional with token", req: req{bearer: token}, status: 200, body: "u1", optional: true},
		{name: "optional with bad token", req: req{bearer: "x"}, status: 401, wwwAuth: `Bearer error="invalid_token"`, optional: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := a.Handler(echo)
			if tt.optional {
				h = a.Optional(echo)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.req.build())
			if w.Code != tt.status {
				t.Fatalf("%s: status %d; want %d (body %s)", tt.name, w.Code, tt.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("%s: body %q; want %q in it", tt.name, w.Body, tt.body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wwwAuth {
				t.Errorf("%s: WWW-Authenticate %q; want %q", tt.name, got, tt.wwwAuth)
			}
			if w.Code >= 400 {
				checkProblem(t, w, w.Code)
			}
		})
	}
}

// checkProblem asserts an RFC 9457 body that says nothing about the cause.
func checkProblem(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q; want application/problem+json", ct)
	}
	var p struct {
		Type, Title, Detail string
		Status              int
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != status || p.Title == "" {
		t.Errorf("problem body %s: %v; want status %d and a title", w.Body, err, status)
	}
	for _, leak := range []string{"expired", "signature", "kid", "alg", "jwt", "segment", "csrf check", "redis"} {
		if strings.Contains(strings.ToLower(w.Body.String()), leak) {
			t.Errorf("problem body %s mentions %q", w.Body, leak)
		}
	}
}

func TestMiddlewareWithoutCookies(t *testing.T) {
	a, _ := newTestAuth(t, WithoutCookies())
	token, _ := mustSign(t, a, userClaims("u1"))
	w := httptest.NewRecorder()
	a.Handler(echo).ServeHTTP(w, req{cookie: token}.build())
	if w.Code != http.StatusUnauthorized {
		t.Errorf("cookie with WithoutCookies: status %d; want 401", w.Code)
	}
}

func TestMiddlewareStoreDown(t *testing.T) {
	a, _ := newTestAuth(t, WithDenylist(failingDenylist{}))
	token, _ := mustSign(t, a, userClaims("u1"))
	w := httptest.NewRecorder()
	a.Handler(echo).ServeHTTP(w, req{bearer: token}.build())
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("denylist down: status %d; want 503", w.Code)
	}
	checkProblem(t, w, http.StatusServiceUnavailable)
}

func TestMiddlewareErrorHandler(t *testing.T) {
	var got error
	a, _ := newTestAuth(t, WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusTeapot)
	}))
	w := httptest.NewRecorder()
	a.Handler(echo).ServeHTTP(w, req{bearer: "x.y.z"}.build())
	if w.Code != http.StatusTeapot || !errors.Is(got, ErrTokenInvalid) {
		t.Errorf("custom handler: status %d, err %v; want 418 and ErrTokenInvalid", w.Code, got)
	}
}

func TestRequireRole(t *testing.T) {
	a, _ := newTestAuth(t)
	admin, _ := mustSign(t, a, userClaims("u1", "admin"))
	user, _ := mustSign(t, a, userClaims("u2", "user"))
	h := a.Handler(a.RequireRole("admin", "ops")(echo))
	for _, tt := range []struct {
		token  string
		status int
	}{{admin, 200}, {user, 403}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req{bearer: tt.token}.build())
		if w.Code != tt.status {
			t.Errorf("RequireRole: status %d; want %d", w.Code, tt.status)
		}
		if w.Code == 403 {
			checkProblem(t, w, 403)
			if got := w.Header().Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope"` {
				t.Errorf("WWW-Authenticate = %q; want insufficient_scope", got)
			}
		}
	}
	w := httptest.NewRecorder()
	a.RequireRole("admin")(echo).ServeHTTP(w, req{}.build())
	if w.Code != http.StatusUnauthorized {
		t.Errorf("RequireRole without claims: status %d; want 401", w.Code)
	}
}

func TestRequireRoleNeedsARole(t *testing.T) {
	a, _ := newTestAuth(t)
	defer func() {
		if recover() == nil {
			t.Error("RequireRole() did not panic")
		}
	}()
	a.RequireRole()
}

func BenchmarkMiddleware(b *testing.B) {
	a, _ := newTestAuth(b)
	token, _ := mustSign(b, a, userClaims("u1", "admin", "user"))
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
}
