package securehdr

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = w.Write([]byte("ok"))
})

func mustNew(t testing.TB, cfg Config) *Headers {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestDefaultHeaders(t *testing.T) {
	m := mustNew(t, Config{})
	w := serve(m.Handler(okHandler), httptest.NewRequest("GET", "http://example.com/", nil))
	want := map[string]string{
		"Content-Security-Policy":           "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; img-src 'self' data:; script-src-attr 'none'",
		"X-Frame-Options":                   "DENY",
		"X-Content-Type-Options":            "nosniff",
		"Referrer-Policy":                   "strict-origin-when-cross-origin",
		"Permissions-Policy":                "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
		"Cross-Origin-Opener-Policy":        "same-origin",
		"Cross-Origin-Resource-Policy":      "same-origin",
		"X-XSS-Protection":                  "0",
		"X-Permitted-Cross-Domain-Policies": "none",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("header %s = %q; want %q", k, got, v)
		}
	}
	if got := w.Header().Get(hstsKey); got != "" {
		t.Errorf("HSTS on plain HTTP = %q; want none", got)
	}
	if len(w.Header()) != len(want)+1 { // + Content-Type sniffed by the recorder
		t.Errorf("got %d headers: %v", len(w.Header()), w.Header())
	}
}

func TestHeadersOnErrors(t *testing.T) {
	m := mustNew(t, Config{})
	fail := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	w := serve(m.Handler(fail), httptest.NewRequest("GET", "/", nil))
	if w.Code != 500 || w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("error response: %d %v", w.Code, w.Header())
	}
}

func TestHeaderValuesNotShared(t *testing.T) {
	m := mustNew(t, Config{})
	mutate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Frame-Options"][0] = "SAMEORIGIN"
		w.Header().Add("Referrer-Policy", "no-referrer")
	})
	h := m.Handler(mutate)
	serve(h, httptest.NewRequest("GET", "/", nil))
	w := serve(h, httptest.NewRequest("GET", "/", nil))
	if got := w.Header().Get("X-Frame-Options"); got != "SAMEORIGIN" {
		t.Fatalf("handler mutation lost: %q", got)
	}
	w = serve(m.Handler(okHandler), httptest.NewRequest("GET", "/", nil))
	if got := w.Header()["Referrer-Policy"]; len(got) != 1 || got[0] != "strict-origin-when-cross-origin" {
		t.Errorf("Referrer-Policy = %q after another response appended", got)
	}
	if got := w.Header().Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q after another response edited it", got)
	}
}

func TestOverrideAndOmit(t *testing.T) {
	m := mustNew(t, Config{
		Override: map[string]string{
			"x-frame-options":              "SAMEORIGIN",
			"Cross-Origin-Embedder-Policy": "require-corp",
			"A-Extra":                      "1",
		},
		Omit: []string{"X-XSS-Protection", "content-security-policy", "Strict-Transport-Security"},
	})
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	w := serve(m.Handler(okHandler), r)
	h := w.Header()
	if h.Get("X-Frame-Options") != "SAMEORIGIN" || h.Get("Cross-Origin-Embedder-Policy") != "require-corp" || h.Get("A-Extra") != "1" {
		t.Errorf("overrides not applied: %v", h)
	}
	for _, k := range []string{"X-Xss-Protection", "Content-Security-Policy", hstsKey} {
		if _, ok := h[k]; ok {
			t.Errorf("%s still sent", k)
		}
	}
	if got := h.Get("Referrer-Policy"); got != "strict-origin-when-cross-origin" {
		t.Errorf("Referrer-Policy = %q; want the default", got)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"bad name", Config{Override: map[string]string{"X Bad": "1"}}, ErrInvalidConfig},
		{"empty name", Config{Override: map[string]string{"": "1"}}, ErrInvalidConfig},
		{"crlf value", Config{Override: map[string]string{"X-A": "1\r\nSet-Cookie: a=b"}}, ErrInvalidConfig},
		{"padded value", Config{Override: map[string]string{"X-A": " 1"}}, ErrInvalidConfig},
		{"duplicate", Config{Override: map[string]string{"x-a": "1", "X-A": "2"}}, ErrInvalidConfig},
		{"csp via override", Config{Override: map[string]string{"content-security-policy": "default-src *"}}, ErrInvalidConfig},
		{"report-only via override", Config{Override: map[string]string{"Content-Security-Policy-Report-Only": "default-src *"}}, ErrInvalidConfig},
		{"hsts via override", Config{Override: map[string]string{hstsKey: "max-age=1"}}, ErrInvalidConfig},
		{"empty override", Config{Override: map[string]string{"X-XSS-Protection": ""}}, ErrInvalidConfig},
		{"omit unknown", Config{Omit: []string{"X-Powered-By"}}, ErrInvalidConfig},
		{"omit and override", Config{Omit: []string{"X-Frame-Options"}, Override: map[string]string{"x-frame-options": "SAMEORIGIN"}}, ErrInvalidConfig},
		{"csp set and omitted", Config{CSP: DefaultCSP(), Omit: []string{"Content-Security-Policy"}}, ErrInvalidConfig},
		{"bad proxy", Config{TrustedProxies: []string{"10.0.0.0/33"}}, ErrInvalidConfig},
		{"bad proxy addr", Config{TrustedProxies: []string{"proxy.local"}}, ErrInvalidConfig},
		{"negative hsts", Config{HSTS: HSTS{MaxAge: -time.Second}}, ErrInvalidConfig},
		{"preload short", Config{HSTS: HSTS{MaxAge: time.Hour, Preload: true}}, ErrInvalidConfig},
		{"preload no subdomains", Config{HSTS: HSTS{Preload: true, ExcludeSubdomains: true}}, ErrInvalidConfig},
		{"bad csp", Config{CSP: new(CSP).Set("script-src", "self")}, ErrInvalidCSP},
		{"bad exempt path without checks", Config{ExemptPaths: []string{"healthz"}}, ErrInvalidConfig},
		{"redirect host without redirect", Config{AllowedHosts: []string{"example.com"}, RedirectHost: "example.com"}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Errorf("New(%s) = %v; want %v", tt.name, err, tt.want)
			}
		})
	}
}

func TestHSTS(t *testing.T) {
	tls := &tls.ConnectionState{}
	tests := []struct {
		name   string
		cfg    Config
		remote string
		proto  string
		tls    bool
		want   string
	}{
		{"tls", Config{}, "203.0.113.9:1", "", true, "max-age=31536000; includeSubDomains"},
		{"plain", Config{}, "203.0.113.9:1", "", false, ""},
		{"untrusted proto", Config{}, "203.0.113.9:1", "https", false, ""},
		{"trusted proto", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5", "https", false, "max-age=31536000; includeSubDomains"},
		{"trusted list", Config{TrustedProxies: []string{"10.0.0.1"}}, "10.0.0.1:5", "HTTPS, http", false, "max-age=31536000; includeSubDomains"},
		{"trusted http", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5", "http", false, ""},
		{"outside cidr", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "11.1.2.3:5", "https", false, ""},
		{"ipv6 proxy", Config{TrustedProxies: []string{"fd00::/8"}}, "[fd00::1]:5", "https", false, "max-age=31536000; includeSubDomains"},
		{"mapped v4", Config{TrustedProxies: []string{"::ffff:10.0.0.1"}}, "10.0.0.1:5", "https", false, "max-age=31536000; includeSubDomains"},
		{"bad remote", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "pipe", "https", false, ""},
		{"preload", Config{HSTS: HSTS{MaxAge: 2 * year, Preload: true}}, "", "", true, "max-age=63072000; includeSubDomains; preload"},
		{"no subdomains", Config{HSTS: HSTS{MaxAge: time.Hour, ExcludeSubdomains: true}}, "", "", true, "max-age=3600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustNew(t, tt.cfg)
			r := httptest.NewRequest("GET", "/", nil)
			r.TLS = nil
			if tt.tls {
				r.TLS = tls
			}
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			w := serve(m.Handler(okHandler), r)
			if got := w.Header().Get(hstsKey); got != tt.want {
				t.Errorf("HSTS = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestNonce(t *testing.T) {
	m := mustNew(t, Config{CSP: DefaultCSP().WithNonce("script-src", "style-src").WithStrictDynamic().ReportTo("csp", "/csp-report")})
	var seen []string
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, NonceFromContext(r.Context()))
	}))
	var headers []string
	for range 2 {
		w := serve(h, httptest.NewRequest("GET", "/", nil))
		headers = append(headers, w.Header().Get("Content-Security-Policy"))
		if got := w.Header().Get("Reporting-Endpoints"); got != `csp="/csp-report"` {
			t.Errorf("Reporting-Endpoints = %q", got)
		}
	}
	if seen[0] == "" || seen[0] == seen[1] || len(seen[0]) != 22 {
		t.Fatalf("nonces %q: want two distinct 22-character values", seen)
	}
	for i, v := range headers {
		n := seen[i]
		want := "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; img-src 'self' data:; script-src-attr 'none'; script-src 'self' 'nonce-" + n + "' 'strict-dynamic'; style-src 'self' 'nonce-" + n + "'; report-to csp; report-uri /csp-report"
		if v != want {
			t.Errorf("CSP =\n%s\nwant\n%s", v, want)
		}
	}
	if got := NonceFromContext(httptest.NewRequest("GET", "/", nil).Context()); got != "" {
		t.Errorf("NonceFromContext without middleware = %q", got)
	}
}

func TestNonceContextForwards(t *testing.T) {
	m := mustNew(t, Config{CSP: DefaultCSP().WithNonce()})
	type key struct{}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(key{}) != "v" {
			t.Error("outer context value lost")
		}
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(contextWith(r, key{}, "v"))
	serve(h, r)
}

func TestReportOnly(t *testing.T) {
	m := mustNew(t, Config{
		CSP:      DefaultCSP().ReportOnly().ReportTo("csp", "https://r.example.com/csp"),
		Override: map[string]string{"Reporting-Endpoints": `main="https://r.example.com/all"`},
	})
	w := serve(m.Handler(okHandler), httptest.NewRequest("GET", "/", nil))
	if w.Header().Get("Content-Security-Policy") != "" || !strings.HasSuffix(w.Header().Get("Content-Security-Policy-Report-Only"), "report-to csp; report-uri https://r.example.com/csp") {
		t.Errorf("report-only headers: %v", w.Header())
	}
	if got := w.Header().Get("Reporting-Endpoints"); got != `main="https://r.example.com/all"` {
		t.Errorf("Reporting-Endpoints = %q; want the override", got)
	}
}

func BenchmarkHeaders(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"default", Config{}},
		{"nonce", Config{CSP: DefaultCSP().WithNonce()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := mustNew(b, bc.cfg).Handler(okHandler)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
				}
			})
		})
	}
}

func TestNonceConcurrent(t *testing.T) {
	m := mustNew(t, Config{CSP: DefaultCSP().WithNonce()})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(NonceFromContext(r.Context())))
	}))
	const workers, each = 8, 50
	out := make(chan string, workers*each)
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				w := serve(h, httptest.NewRequest("GET", "/", nil))
				nonce := w.Body.String()
				if !strings.Contains(w.Header().Get("Content-Security-Policy"), "'nonce-"+nonce+"'") {
					t.Errorf("nonce %q not in its own response's policy", nonce)
				}
				out <- nonce
			}
		}()
	}
	for range workers {
		<-done
	}
	close(out)
	seen := make(map[string]bool)
	for n := range out {
		if seen[n] {
			t.Fatalf("nonce %q issued twice", n)
		}
		seen[n] = true
	}
}

func TestExemptPathsWithoutChecks(t *testing.T) {
	m := mustNew(t, Config{ExemptPaths: []string{"/healthz", "/ready/"}})
	if m.guard != nil {
		t.Fatal("a guard without a host check or redirect")
	}
	w := serve(m.Handler(okHandler), httptest.NewRequest("GET", "http://any.example/healthz", nil))
	if w.Code != 200 || w.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("exempt path without checks: %d %v", w.Code, w.Header())
	}
}
