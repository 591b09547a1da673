package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

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

func TestClientIPFromResolver(t *testing.T) {
	ips, err := clientip.New([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	h := ips.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = KeyByIP(r)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("X-Forwarded-For", "2001:db8:aa:bb::77, 10.9.9.9")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "2001:db8:aa:bb::/64" {
		t.Fatalf("KeyByIP behind clientip.Resolver = %q; want %q", got, "2001:db8:aa:bb::/64")
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
