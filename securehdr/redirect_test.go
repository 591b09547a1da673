package securehdr

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedirect(t *testing.T) {
	base := Config{RedirectHTTPS: true, TrustedProxies: []string{"10.0.0.0/8"}, ExemptPaths: []string{"/healthz", "/readyz"}}
	fixed := base
	fixed.RedirectHost = "WWW.Example.com:8443"
	hosts := base
	hosts.AllowedHosts = []string{"example.com"}
	tests := []struct {
		name         string
		cfg          Config
		method, url  string
		remote       string
		hdr          map[string]string
		tls          bool
		wantCode     int
		wantLocation string
	}{
		{"get", base, "GET", "http://example.com/a/b?q=1&r=%20", "203.0.113.1:9", nil, false, 308, "https://example.com/a/b?q=1&r=%20"},
		{"post keeps method", base, "POST", "http://example.com/form", "203.0.113.1:9", nil, false, 308, "https://example.com/form"},
		{"port dropped", base, "GET", "http://Example.COM:8080/", "203.0.113.1:9", nil, false, 308, "https://example.com/"},
		{"ipv6", base, "GET", "http://[::1]:8080/x", "203.0.113.1:9", nil, false, 308, "https://[::1]/x"},
		{"fixed host", fixed, "GET", "http://example.com/x", "203.0.113.1:9", nil, false, 308, "https://www.example.com:8443/x"},
		{"tls passes", base, "GET", "https://example.com/", "203.0.113.1:9", nil, true, 200, ""},
		{"exempt probe", base, "GET", "http://example.com/healthz", "203.0.113.1:9", nil, false, 200, ""},
		{"exempt is exact", base, "GET", "http://example.com/healthz/x", "203.0.113.1:9", nil, false, 308, "https://example.com/healthz/x"},
		{"trusted proto", base, "GET", "http://example.com/", "10.1.1.1:9", map[string]string{"X-Forwarded-Proto": "https"}, false, 200, ""},
		{"spoofed proto", base, "GET", "http://example.com/", "203.0.113.1:9", map[string]string{"X-Forwarded-Proto": "https"}, false, 308, "https://example.com/"},
		{"trusted host", base, "GET", "http://internal/", "10.1.1.1:9", map[string]string{"X-Forwarded-Proto": "http", "X-Forwarded-Host": "Public.example.com"}, false, 308, "https://public.example.com/"},
		{"spoofed host", base, "GET", "http://example.com/", "203.0.113.1:9", map[string]string{"X-Forwarded-Host": "evil.com"}, false, 308, "https://example.com/"},
		{"host checked first", hosts, "GET", "http://evil.example/", "203.0.113.1:9", nil, false, 400, ""},
		{"allowed host", hosts, "GET", "http://Example.com/x", "203.0.113.1:9", nil, false, 308, "https://example.com/x"},
		{"trusted https passes host check", hosts, "GET", "http://example.com/", "10.1.1.1:9", map[string]string{"X-Forwarded-Proto": "https"}, false, 200, ""},
		{"bad host", base, "GET", "http://example.com/", "10.1.1.1:9", map[string]string{"X-Forwarded-Host": "evil.com/x"}, false, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := mustNew(t, tt.cfg)
			r := httptest.NewRequest(tt.method, tt.url, strings.NewReader("body"))
			r.RemoteAddr = tt.remote
			r.TLS = nil
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			w := serve(rd.Handler(okHandler), r)
			if w.Code != tt.wantCode || w.Header().Get("Location") != tt.wantLocation {
				t.Errorf("%s %s: %d %q; want %d %q", tt.method, tt.url, w.Code, w.Header().Get("Location"), tt.wantCode, tt.wantLocation)
			}
		})
	}
}

func TestRedirectConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{RedirectHTTPS: true, TrustedProxies: []string{"nope"}},
		{RedirectHTTPS: true, ExemptPaths: []string{"healthz"}},
		{RedirectHTTPS: true, ExemptPaths: []string{"/a b"}},
		{RedirectHTTPS: true, ExemptPaths: []string{"/a?b"}},
		{RedirectHTTPS: true, RedirectHost: "exa mple.com"},
		{RedirectHTTPS: true, RedirectHost: "example.com:"},
		{RedirectHTTPS: true, RedirectHost: "example.com:99999"},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v; want ErrInvalidConfig", cfg, err)
		}
	}
	if _, err := New(Config{RedirectHTTPS: true, RedirectHost: "[::1]"}); err != nil {
		t.Errorf("New(ipv6 redirect host) = %v", err)
	}
}

func BenchmarkRedirect(b *testing.B) {
	h := mustNew(b, Config{RedirectHTTPS: true}).Handler(okHandler)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://example.com/x?y=1", nil))
		}
	})
}
