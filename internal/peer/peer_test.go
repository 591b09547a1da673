package peer

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPeer(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[::ffff:192.0.2.9]:80", "192.0.2.9"},
		{"[fe80::1%eth0]:80", "fe80::1"},
		{"192.0.2.3", "192.0.2.3"},
		{"[2001:db8::2]", "2001:db8::2"},
		{"@", "invalid IP"},
		{"", "invalid IP"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		if got := Addr(r).String(); got != tt.want {
			t.Errorf("Addr(%q) = %s; want %s", tt.remote, got, tt.want)
		}
	}
}

func TestParsePrefixesAndIn(t *testing.T) {
	ps, err := ParsePrefixes([]string{"10.0.0.0/8", " 192.0.2.1 ", "::1", "::ffff:172.16.0.0/108", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		remote string
		want   bool
	}{
		{"10.1.2.3:1", true},
		{"192.0.2.1:1", true},
		{"192.0.2.2:1", false},
		{"[::1]:1", true},
		{"[::ffff:10.0.0.1]:1", true},
		{"172.16.5.5:1", true},
		{"[2001:db8::9]:1", true},
		{"garbage", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		if got := In(r, ps); got != tt.want {
			t.Errorf("In(%q) = %v; want %v", tt.remote, got, tt.want)
		}
	}
	if In(httptest.NewRequest(http.MethodGet, "/", nil), nil) {
		t.Error("PeerIn with no prefixes = true")
	}
	for _, bad := range [][]string{{"10.0.0.0/33"}, {"not-an-ip"}, {"::ffff:0.0.0.0/90"}} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) = nil error", bad)
		}
	}
	if ps, err := ParsePrefixes(nil); ps != nil || err != nil {
		t.Errorf("ParsePrefixes(nil) = %v, %v", ps, err)
	}
}
