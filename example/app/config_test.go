package app

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("LoadConfig(empty) = %v", err)
	}
	if c.Addr != "127.0.0.1:8080" || c.RateLimit != "1000/minute" || c.LoginRateLimit != "5/minute" || c.SeedUsers != 1000 || c.Production() || c.forceHTTPS {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // every variable the error must name
	}{
		{"production without secrets", map[string]string{"ENVIRONMENT": "production"},
			[]string{"SECRET_KEY", "ALLOWED_HOSTS", "ADMIN_PASSWORD"}},
		{"production wildcard CORS", map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strings.Repeat("k", 32), "ALLOWED_HOSTS": "api.example.com", "ADMIN_PASSWORD": "x", "CORS_ALLOW_ORIGINS": "*"},
			[]string{"CORS_ALLOW_ORIGINS"}},
		{"many bad values", map[string]string{
			"ENVIRONMENT": "staging", "ADDR": "nope", "SECRET_KEY": "short", "CORS_ALLOW_ORIGINS": "ftp://x",
			"TRUSTED_PROXIES": "10.0.0.0/33", "DATABASE_URL": "mysql://x", "REDIS_URL": "http://x", "LOG_LEVEL": "loud",
			"ADMIN_USERNAME": "a", "SEED_USERS": "-1", "DRAIN_DELAY": "forever", "RATE_LIMIT": "lots", "LOGIN_RATE_LIMIT": "5/fortnight",
			"DATABASE_POOL_SIZE": "zero", "FORCE_HTTPS": "maybe",
		}, []string{"ENVIRONMENT", "ADDR", "SECRET_KEY", "CORS_ALLOW_ORIGINS", "TRUSTED_PROXIES", "DATABASE_URL", "REDIS_URL",
			"LOG_LEVEL", "ADMIN_USERNAME", "SEED_USERS", "DRAIN_DELAY", "RATE_LIMIT", "LOGIN_RATE_LIMIT", "DATABASE_POOL_SIZE", "FORCE_HTTPS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(func(k string) string { return tt.env[k] })
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("LoadConfig = %v; want an error matching ErrConfig", err)
			}
			for _, name := range tt.want {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error does not name %s:\n%v", name, err)
				}
			}
		})
	}
}

func TestLoadConfigProduction(t *testing.T) {
	env := map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strings.Repeat("k", 32), "ALLOWED_HOSTS": "api.example.com",
		"ADMIN_PASSWORD": "x", "CORS_ALLOW_ORIGINS": "https://app.example.com", "TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.1"}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !c.forceHTTPS || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.0.2.1/32" {
		t.Fatalf("config = %+v", c)
	}
}

func TestRecovererAnswersProblem(t *testing.T) {
	h := recoverer(slog.New(slog.NewTextHandler(io.Discard, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic answered %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("ErrAbortHandler was not re-raised: %v", v)
		}
	}()
	recoverer(slog.New(slog.NewTextHandler(io.Discard, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestValidateUser(t *testing.T) {
	ok := func(string) error { return nil }
	tests := []struct {
		in  NewUser
		bad string
	}{
		{NewUser{Username: "good_name", Email: "a@example.com"}, ""},
		{NewUser{Username: "ab", Email: "a@example.com"}, "username"},
		{NewUser{Username: strings.Repeat("a", 51), Email: "a@example.com"}, "username"},
		{NewUser{Username: "good_name", Email: "Name <a@example.com>"}, "email"},
		{NewUser{Username: "good_name", Email: "a@localhost"}, "email"},
		{NewUser{Username: "good_name", Email: "a@example.com", Bio: strings.Repeat("é", 1001)}, "bio"},
	}
	for _, tt := range tests {
		got := tt.in.Validate(ok)
		if tt.bad == "" && len(got) > 0 || tt.bad != "" && (len(got) != 1 || got[0].Field != tt.bad) {
			t.Errorf("Validate(%+v) = %v; want a problem with %q", tt.in, got, tt.bad)
		}
	}
}
