package securehdr

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func contextWith(r *http.Request, k, v any) context.Context {
	return context.WithValue(r.Context(), k, v)
}

func TestProxies(t *testing.T) {
	p, err := parseProxies([]string{"10.0.0.0/8", " 192.0.2.7 ", "2001:db8::/32", "10.1.2.3/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		remote string
		want   bool
	}{
		{"10.9.9.9:80", true},
		{"192.0.2.7:1", true},
		{"192.0.2.8:1", false},
		{"[2001:db8::1]:443", true},
		{"[2001:db9::1]:443", false},
		{"10.0.0.1", true}, // no port
		{"", false},
		{"@", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if got := p.trusts(r); got != tt.want {
			t.Errorf("trusts(%q) = %v; want %v", tt.remote, got, tt.want)
		}
	}
	none, err := parseProxies(nil)
	if err != nil || none.trusts(httptest.NewRequest("GET", "/", nil)) {
		t.Errorf("empty proxies trust someone: %v", err)
	}
	for _, bad := range []string{"", "10.0.0.0/99", "host", "1.2.3.4.5"} {
		if _, err := parseProxies([]string{bad}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("parseProxies(%q) = %v; want ErrInvalidConfig", bad, err)
		}
	}
}

func TestFirstValue(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if got := firstValue(r, "X-Forwarded-Host"); got != "" {
		t.Errorf("firstValue(missing) = %q", got)
	}
	r.Header.Add("X-Forwarded-Host", " a.example , b.example")
	r.Header.Add("X-Forwarded-Host", "c.example")
	if got := firstValue(r, "X-Forwarded-Host"); got != "a.example" {
		t.Errorf("firstValue = %q; want a.example", got)
	}
}
