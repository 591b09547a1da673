package securehdr

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCORSConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  CORSConfig
		want error
	}{
		{"none", CORSConfig{}, ErrInvalidConfig},
		{"wildcard credentials", CORSConfig{AllowedOrigins: []string{"*"}, AllowCredentials: true}, ErrInsecureCORS},
		{"pattern credentials", CORSConfig{AllowedOrigins: []string{"https://*.example.com"}, AllowCredentials: true}, ErrInsecureCORS},
		{"wildcard mixed", CORSConfig{AllowedOrigins: []string{"*", "https://a.example"}}, ErrInvalidConfig},
		{"null", CORSConfig{AllowedOrigins: []string{"null"}}, ErrInvalidConfig},
		{"no scheme", CORSConfig{AllowedOrigins: []string{"example.com"}}, ErrInvalidConfig},
		{"path", CORSConfig{AllowedOrigins: []string{"https://example.com/"}}, ErrInvalidConfig},
		{"query", CORSConfig{AllowedOrigins: []string{"https://example.com?"}}, ErrInvalidConfig},
		{"userinfo", CORSConfig{AllowedOrigins: []string{"https://u@example.com"}}, ErrInvalidConfig},
		{"two stars", CORSConfig{AllowedOrigins: []string{"https://*.*.example.com"}}, ErrInvalidConfig},
		{"star mid", CORSConfig{AllowedOrigins: []string{"https://a*.example.com"}}, ErrInvalidConfig},
		{"bad host", CORSConfig{AllowedOrigins: []string{"https://exa mple.com"}}, ErrInvalidConfig},
		{"bad port", CORSConfig{AllowedOrigins: []string{"https://example.com:x"}}, ErrInvalidConfig},
		{"bad method", CORSConfig{AllowedOrigins: []string{"https://example.com"}, AllowedMethods: []string{"GET POST"}}, ErrInvalidConfig},
		{"bad header", CORSConfig{AllowedOrigins: []string{"https://example.com"}, AllowedHeaders: []string{"X:Y"}}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCORS(tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("NewCORS(%+v) = %v; want %v", tt.cfg, err, tt.want)
			}
		})
	}
}

func preflight(origin string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, "/api", nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", "PUT")
	r.Header.Set("Access-Control-Request-Headers", "content-type")
	return r
}

func TestCORSPreflight(t *testing.T) {
	tests := []struct {
		name       string
		cfg        CORSConfig
		origin     string
		wantOrigin string
		wantMaxAge string
		wantCreds  string
	}{
		{"exact credentials", CORSConfig{AllowedOrigins: []string{"https://App.example.com"}, AllowedMethods: []string{"GET", "PUT"}, AllowCredentials: true}, "https://app.example.com", "https://app.example.com", "7200", "true"},
		{"pattern", CORSConfig{AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"PUT"}}, "https://a.example.com", "https://a.example.com", "7200", ""},
		{"pattern no apex", CORSConfig{AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"PUT"}}, "https://example.com", "", "", ""},
		{"wildcard", CORSConfig{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PUT"}, MaxAge: time.Minute}, "https://x.test", "*", "60", ""},
		{"method refused", CORSConfig{AllowedOrigins: []string{"https://app.example.com"}}, "https://app.example.com", "", "", ""},
		{"other origin", CORSConfig{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}}, "https://evil.example", "", "", ""},
		{"no cache", CORSConfig{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}, MaxAge: -1}, "https://app.example.com", "https://app.example.com", "0", ""},
		{"sub-second", CORSConfig{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}, MaxAge: time.Millisecond}, "https://app.example.com", "https://app.example.com", "0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCORS(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			called := false
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
			w := serve(h, preflight(tt.origin))
			if called {
				t.Error("preflight reached the next handler")
			}
			if w.Code != http.StatusNoContent {
				t.Errorf("status %d; want 204", w.Code)
			}
			hd := w.Header()
			if hd.Get("Access-Control-Allow-Origin") != tt.wantOrigin || hd.Get("Access-Control-Max-Age") != tt.wantMaxAge || hd.Get("Access-Control-Allow-Credentials") != tt.wantCreds {
				t.Errorf("headers %v; want origin %q max-age %q credentials %q", hd, tt.wantOrigin, tt.wantMaxAge, tt.wantCreds)
			}
		})
	}
}

func TestCORSOriginNormalised(t *testing.T) {
	tests := []struct{ origin, sent string }{
		{"HTTPS://Bücher.Example", "https://xn--bcher-kva.example"},
		{"http://[::1]:3000", "http://[::1]:3000"},
		{"https://*.Example.com:8443", "https://a.example.com:8443"},
	}
	for _, tt := range tests {
		c, err := NewCORS(CORSConfig{AllowedOrigins: []string{tt.origin}})
		if err != nil {
			t.Fatalf("NewCORS(%q) = %v", tt.origin, err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Origin", tt.sent)
		w := serve(c.Handler(okHandler), r)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.sent {
			t.Errorf("origin %q configured, %q sent: Allow-Origin %q", tt.origin, tt.sent, got)
		}
	}
}

func TestCORSVaryAppended(t *testing.T) {
	c, err := NewCORS(CORSConfig{AllowedOrigins: []string{"https://app.example.com"}, ExposedHeaders: []string{"X-Total"}})
	if err != nil {
		t.Fatal(err)
	}
	setVary := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Encoding")
			next.ServeHTTP(w, r)
		})
	}
	h := setVary(c.Handler(okHandler))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := serve(h, r)
	if got := w.Header().Values("Vary"); len(got) != 2 || got[0] != "Accept-Encoding" || got[1] != "Origin" {
		t.Errorf("Vary = %q; want [Accept-Encoding Origin]", got)
	}
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" || w.Header().Get("Access-Control-Expose-Headers") != "X-Total" {
		t.Errorf("actual response headers: %v", w.Header())
	}
	w = serve(h, preflight("https://app.example.com"))
	if got := w.Header().Values("Vary"); len(got) != 2 || got[0] != "Accept-Encoding" {
		t.Errorf("preflight Vary = %q; want Accept-Encoding kept", got)
	}
}

func BenchmarkCORS(b *testing.B) {
	c, err := NewCORS(CORSConfig{AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	h := c.Handler(okHandler)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Origin", "https://app.example.com")
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	})
}
