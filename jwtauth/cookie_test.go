package jwtauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSetAndClearCookies(t *testing.T) {
	a, _ := newTestAuth(t, WithRefreshStore(newMemoryStore(t)))
	set, err := a.Issue(context.Background(), userClaims("u1"))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	a.SetCookies(w, set)
	cookies := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		cookies[c.Name] = c
	}
	tests := []struct {
		name     string
		value    string
		httpOnly bool
		same     http.SameSite
		maxAge   int
	}{
		{defaultAccessCookie, set.AccessToken, true, http.SameSiteLaxMode, 900},
		{defaultRefreshCookie, set.RefreshToken, true, http.SameSiteStrictMode, int(defaultRefreshTTL.Seconds())},
		{defaultCSRFCookie, set.CSRFToken, false, http.SameSiteStrictMode, int(defaultRefreshTTL.Seconds())},
	}
	for _, tt := range tests {
		c := cookies[tt.name]
		if c == nil {
			t.Errorf("cookie %s not set", tt.name)
			continue
		}
		if c.Value != tt.value || c.HttpOnly != tt.httpOnly || !c.Secure || c.SameSite != tt.same || c.Path != "/" || c.Domain != "" || c.MaxAge != tt.maxAge {
			t.Errorf("cookie %s = %+v; want value, HttpOnly=%v, Secure, SameSite=%v, Path=/, no Domain, Max-Age %d", tt.name, c, tt.httpOnly, tt.same, tt.maxAge)
		}
	}

	r := httptest.NewRequest(http.MethodPost, "/auth/refresh", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	if got := a.RefreshTokenFromCookie(r); got != set.RefreshToken {
		t.Errorf("RefreshTokenFromCookie = %q; want the refresh token", got)
	}
	if got := a.RefreshTokenFromCookie(httptest.NewRequest(http.MethodGet, "/", nil)); got != "" {
		t.Errorf("RefreshTokenFromCookie(no cookie) = %q; want empty", got)
	}

	w = httptest.NewRecorder()
	a.ClearCookies(w)
	cleared := w.Result().Cookies()
	if len(cleared) != 3 {
		t.Fatalf("ClearCookies set %d cookies; want 3", len(cleared))
	}
	for _, c := range cleared {
		if c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("cleared cookie %+v; want empty value and Max-Age<0", c)
		}
	}
}

func TestCookiePathAndNames(t *testing.T) {
	a, _ := newTestAuth(t, WithCookies("at", "rt", "ct"), WithRefreshCookiePath("/auth/refresh"))
	w := httptest.NewRecorder()
	a.SetCookies(w, TokenSet{AccessToken: "a", RefreshToken: "r", CSRFToken: "c", ExpiresIn: 1, RefreshExpiresIn: 2})
	for _, c := range w.Result().Cookies() {
		want := "/"
		if c.Name == "rt" {
			want = "/auth/refresh"
		}
		if c.Path != want {
			t.Errorf("cookie %s path %q; want %q", c.Name, c.Path, want)
		}
	}
	none, _ := newTestAuth(t, WithoutCookies())
	w = httptest.NewRecorder()
	none.SetCookies(w, TokenSet{AccessToken: "a"})
	if n := len(w.Result().Cookies()); n != 0 {
		t.Errorf("SetCookies with WithoutCookies set %d cookies; want 0", n)
	}
}
