package securehdr

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"example.com", "example.com", true},
		{"Example.COM", "example.com", true},
		{"example.com.", "example.com", true},
		{"EXAMPLE.com.:8443", "example.com", true},
		{"example.com:65535", "example.com", true},
		{"127.0.0.1:80", "127.0.0.1", true},
		{"[::1]:8080", "[::1]", true},
		{"[2001:DB8:0:0::1]", "[2001:db8::1]", true},
		{"[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]", true},
		{"bücher.example", "xn--bcher-kva.example", true},
		{"BÜCHER.example.:443", "xn--bcher-kva.example", true},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", true},
		{"my_host.internal", "my_host.internal", true},
		{"", "", false},
		{".", "", false},
		{":80", "", false},
		{"example.com:", "", false},
		{"example.com:65536", "", false},
		{"example.com:8o", "", false},
		{"example.com:1234567", "", false},
		{"example..com", "", false},
		{".example.com", "", false},
		{"example.com..", "", false},
		{"exa mple.com", "", false},
		{"example.com/evil", "", false},
		{"user@example.com", "", false},
		{"::1", "", false},
		{"[::1", "", false},
		{"[::1]x", "", false},
		{"[1.2.3.4]", "", false},
		{"[fe80::1%eth0]", "", false},
		{"[nothex]", "", false},
		{"\xff.example", "", false},
		{strings.Repeat("a", 64) + ".com", "", false},
		{strings.Repeat("a.", 127) + "com", "", false},
		{strings.Repeat("a", 301), "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeHost(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizeHostNoAlloc(t *testing.T) {
	for _, h := range []string{"api.example.com", "api.example.com:8443", "[::1]:80"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = NormalizeHost(h) }); n != 0 {
			t.Errorf("NormalizeHost(%q) allocates %v times", h, n)
		}
	}
}

func TestAllowedHosts(t *testing.T) {
	a := mustNew(t, Config{
		AllowedHosts:   []string{"Example.com.", "*.api.example.com", "::1", "bücher.example", "10.0.0.1"},
		TrustedProxies: []string{"10.0.0.0/8"},
		ExemptPaths:    []string{"/healthz", "/ready/"},
	})
	tests := []struct {
		host, fwd, remote string
		want              int
		path              string
	}{
		{"example.com", "", "", 200, ""},
		{"EXAMPLE.COM.:443", "", "", 200, ""},
		{"v1.api.example.com", "", "", 200, ""},
		{"a.b.api.example.com", "", "", 200, ""},
		{"api.example.com", "", "", 400, ""},
		{"evilapi.example.com", "", "", 400, ""},
		{"[::1]:8080", "", "", 200, ""},
		{"xn--bcher-kva.example", "", "", 200, ""},
		{"10.0.0.1", "", "", 200, ""},
		{"evil.com", "", "", 400, ""},
		{"", "", "", 400, ""},
		{"evil.com", "example.com", "203.0.113.1:1", 400, ""}, // untrusted peer: X-Forwarded-Host ignored
		{"internal:8080", "example.com", "10.0.0.9:1", 200, ""},
		{"example.com", "evil.com, example.com", "10.0.0.9:1", 400, ""},
		{"evil.com", "", "", 200, "/healthz"},
		{"evil.com", "", "", 400, "/healthz/x"},
		{"evil.com", "", "", 200, "/ready/db"},
		{"evil.com", "", "", 400, "/ready"},
	}
	for _, tt := range tests {
		path := tt.path
		if path == "" {
			path = "/"
		}
		r := httptest.NewRequest("GET", path, nil)
		r.Host = tt.host
		if tt.fwd != "" {
			r.Header.Set("X-Forwarded-Host", tt.fwd)
		}
		if tt.remote != "" {
			r.RemoteAddr = tt.remote
		}
		w := serve(a.Handler(okHandler), r)
		if w.Code != tt.want {
			t.Errorf("host %q fwd %q from %q path %q: status %d; want %d", tt.host, tt.fwd, tt.remote, path, w.Code, tt.want)
		}
		if w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("host %q: response without the security headers", tt.host)
		}
		if w.Code == 400 {
			body, _ := io.ReadAll(w.Body)
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("refusal Content-Type = %q", ct)
			}
			if !strings.Contains(string(body), `"status":400`) || (tt.host != "" && strings.Contains(string(body), tt.host)) {
				t.Errorf("refusal body %s", body)
			}
		}
	}
}

func TestAllowedHostsErrorHandler(t *testing.T) {
	var got error
	a := mustNew(t, Config{AllowedHosts: []string{"example.com"}, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusMisdirectedRequest)
	}})
	r := httptest.NewRequest("GET", "http://other.example/", nil)
	if w := serve(a.Handler(okHandler), r); w.Code != http.StatusMisdirectedRequest || !errors.Is(got, ErrHostNotAllowed) {
		t.Errorf("custom handler: %d, %v", w.Code, got)
	}
}

func TestAllowedHostsConfigErrors(t *testing.T) {
	for _, hosts := range [][]string{{""}, {"a b"}, {"*.[::1]"}, {"*."}, {"example.com/x"}} {
		if _, err := New(Config{AllowedHosts: hosts}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(AllowedHosts: %q) = %v; want ErrInvalidConfig", hosts, err)
		}
	}
}

// FuzzNormalizeHost checks that normalisation is idempotent and yields only
// lower-case DNS names or bracketed IPv6 literals.
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"example.com", "EXAMPLE.com.:80", "[::1]:443", "bücher.example", "a..b", "[fe80::1%25x]", "xn--", "1.2.3.4:99999", "ß.de", "\u3002.jp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, ok := NormalizeHost(in)
		if !ok {
			if n != "" {
				t.Fatalf("NormalizeHost(%q) = %q with ok=false", in, n)
			}
			return
		}
		again, ok2 := NormalizeHost(n)
		if !ok2 || again != n {
			t.Fatalf("NormalizeHost(%q) = %q, but NormalizeHost(%q) = %q, %v", in, n, n, again, ok2)
		}
		if strings.HasPrefix(n, "[") {
			if !strings.HasSuffix(n, "]") {
				t.Fatalf("NormalizeHost(%q) = %q: unterminated literal", in, n)
			}
			return
		}
		if !validDNSName(n) || strings.HasSuffix(n, ".") || strings.ContainsAny(n, ":/@ ") {
			t.Fatalf("NormalizeHost(%q) = %q: not a plain DNS name", in, n)
		}
	})
}

func BenchmarkAllowedHosts(b *testing.B) {
	h := mustNew(b, Config{AllowedHosts: []string{"example.com", "*.example.org"}}).Handler(okHandler)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "http://API.example.org:8080/", nil)
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	})
}
