package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/covetgo/covet/clientip"
)

func TestClientIP(t *testing.T) {
	tests := []struct {
		remote string
		xff    string
		want   string
	}{
		{"192.0.2.1:1234", "", "192.0.2.1"},
		{"192.0.2.1:1234", "203.0.113.9", "192.0.2.1"}, // forwarded header ignored
		{"[::ffff:192.0.2.1]:80", "", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:443", "", "fe80::/64"},
		{"192.0.2.7", "", "192.0.2.7"},
		{"[2001:db8::9]", "", "2001:db8::/64"},
		{"", "", ""},
		{"not-an-ip:80", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := KeyByIP(r); got != tt.want {
				t.Fatalf("KeyByIP(RemoteAddr %q) = %q; want %q", tt.remote, got, tt.want)
			}
		})
	}
}

// TestKeyByAddrBehindChi: chi's ClientIPFromXFF resolves the client; the
// default key stays the proxy, KeyByAddr(clientip.Addr) finds the client.
func TestKeyByAddrBehindChi(t *testing.T) {
	var peerKey, clientKey string
	byClient := KeyByAddr(clientip.Addr)
	h := middleware.ClientIPFromXFF("10.0.0.0/8")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peerKey, clientKey = KeyByIP(r), byClient(r)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("X-Forwarded-For", "2001:db8:aa:bb::77, 10.9.9.9")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if peerKey != "10.1.2.3" {
		t.Errorf("KeyByIP behind chi ClientIPFromXFF = %q; want the peer 10.1.2.3", peerKey)
	}
	if clientKey != "2001:db8:aa:bb::/64" {
		t.Errorf("KeyByAddr(clientip.Addr) behind chi ClientIPFromXFF = %q; want %q", clientKey, "2001:db8:aa:bb::/64")
	}
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = ""
	if got := byClient(r); got != "" {
		t.Errorf("KeyByAddr without an address = %q; want \"\"", got)
	}
}

type userKey struct{}

func TestKeyFuncs(t *testing.T) {
	user := func(ctx context.Context) string { s, _ := ctx.Value(userKey{}).(string); return s }
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "192.0.2.1:1"
	r.Header.Set("X-Api-Key", "k1")
	r = r.WithContext(context.WithValue(r.Context(), userKey{}, "alice"))

	if got := KeyByHeader("x-api-key")(r); got != "k1" {
		t.Errorf("KeyByHeader = %q; want k1", got)
	}
	if got := KeyByUser(user)(r); got != "alice" {
		t.Errorf("KeyByUser = %q; want alice", got)
	}
	if got := KeyBy(KeyByUser(user), KeyByIP)(r); got != "5:alice|9:192.0.2.1" {
		t.Errorf("KeyBy(user, ip) = %q", got)
	}
	if got := KeyBy(KeyByHeader("Missing"), KeyByIP)(r); got != "" {
		t.Errorf("KeyBy with an empty part = %q; want empty", got)
	}
	// Length prefixes keep parts that contain the separator apart.
	a := KeyBy(func(*http.Request) string { return "a|1:b" }, func(*http.Request) string { return "c" })(r)
	b := KeyBy(func(*http.Request) string { return "a" }, func(*http.Request) string { return "b|1:c" })(r)
	if a == b {
		t.Errorf("KeyBy collision: %q", a)
	}
}

func TestKeyByRoute(t *testing.T) {
	var got string
	capture := func(w http.ResponseWriter, r *http.Request) { got = KeyByRoute(r) }
	tests := []struct {
		name    string
		handler func() http.Handler
		path    string
		want    string
	}{
		{"chi", func() http.Handler {
			cr := chi.NewRouter()
			cr.Get("/users/{id}", capture)
			return cr
		}, "/users/42", "/users/{id}"},
		{"chi nested With", func() http.Handler {
			cr := chi.NewRouter()
			cr.Route("/api", func(r chi.Router) {
				r.With(func(next http.Handler) http.Handler { return next }).Get("/users/{id}", capture)
			})
			return cr
		}, "/api/users/42", "/api/users/{id}"},
		{"ServeMux", func() http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", capture)
			return mux
		}, "/items/7", "GET /items/{id}"},
		{"unrouted", func() http.Handler { return http.HandlerFunc(capture) }, "/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = "unset"
			tt.handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tt.path, nil))
			if got != tt.want {
				t.Errorf("KeyByRoute(%s) = %q; want %q", tt.path, got, tt.want)
			}
		})
	}
}
