package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/chiroute"
	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/securehdr"
)

type ctxKey struct{}

// replacing are middlewares that hand the next handler a new request
// (r.WithContext): ours and a plain one.
func replacing(t *testing.T) []struct {
	name string
	mw   func(http.Handler) http.Handler
	prep func(*http.Request)
} {
	t.Helper()
	key, err := jwtauth.HS256Key("k1", []byte("test-secret-test-secret-test-sec"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := jwtauth.NewKeyRing(key)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := jwtauth.New[jwtauth.Claims](ring)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwtauth.Claims{}
	claims.Subject = "user-1"
	set, err := auth.Issue(context.Background(), claims)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := securehdr.New(securehdr.Config{CSP: securehdr.DefaultCSP().WithNonce()})
	if err != nil {
		t.Fatal(err)
	}
	ips, err := clientip.New([]string{"192.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := ratelimit.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	lim, err := ratelimit.New(store, ratelimit.PerMinute(1000))
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		name string
		mw   func(http.Handler) http.Handler
		prep func(*http.Request)
	}{
		{"securehdr CSP nonce", hdr.Handler, nil},
		{"clientip", ips.Handler, nil},
		{"ratelimit", lim.Handler, nil},
		{"jwtauth", auth.Handler, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+set.AccessToken) }},
		{"metrics.RequestID", metrics.RequestID, nil},
		{"WithContext", withValue, nil},
	}
}

// withValue is the plainest request-replacing middleware.
func withValue(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, 1)))
	})
}

func okHandler(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }

// TestRouteSurvivesReplacedRequest puts each request-replacing middleware
// between the metrics middleware and the router: the endpoint label is
// still the route pattern.
func TestRouteSurvivesReplacedRequest(t *testing.T) {
	type setup func(t *testing.T, reg *prometheus.Registry, mw func(http.Handler) http.Handler) http.Handler
	setups := []struct {
		name  string
		build setup
	}{
		{"ServeMux", func(t *testing.T, reg *prometheus.Registry, mw func(http.Handler) http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /users/{id}", okHandler)
			m, err := metrics.New(reg, metrics.WithServeMux(mux))
			if err != nil {
				t.Fatal(err)
			}
			return m.Handler(mw(mux))
		}},
		{"chi outside", func(t *testing.T, reg *prometheus.Registry, mw func(http.Handler) http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Get("/users/{id}", okHandler)
			m, err := metrics.New(reg, metrics.WithRouter(chiroute.Router{}))
			if err != nil {
				t.Fatal(err)
			}
			return m.Handler(mw(r))
		}},
		{"chi Use", func(t *testing.T, reg *prometheus.Registry, mw func(http.Handler) http.Handler) http.Handler {
			m, err := metrics.New(reg, metrics.WithRouter(chiroute.Router{}))
			if err != nil {
				t.Fatal(err)
			}
			r := chi.NewRouter()
			r.Use(m.Handler, mw)
			r.Route("/api", func(r chi.Router) { r.Get("/users/{id}", okHandler) })
			return http.StripPrefix("", r)
		}},
	}
	for _, s := range setups {
		for _, mw := range replacing(t) {
			t.Run(s.name+"/"+mw.name, func(t *testing.T) {
				reg := prometheus.NewRegistry()
				h := s.build(t, reg, mw.mw)
				path, want := "/users/7", "/users/{id}"
				if s.name == "chi Use" {
					path, want = "/api/users/7", "/api/users/{id}"
				}
				for _, p := range []string{path, "/nope"} {
					r := httptest.NewRequest(http.MethodGet, p, nil)
					r.RemoteAddr = "192.0.2.1:1234"
					if mw.prep != nil {
						mw.prep(r)
					}
					h.ServeHTTP(httptest.NewRecorder(), r)
				}
				got := series(t, reg)
				for _, w := range []string{want + " 200", "unmatched 404"} {
					if !strings.Contains(got, w+"\n") {
						t.Errorf("series:\n%swant %q", got, w)
					}
				}
			})
		}
	}
}

// series lists http_requests_total as "endpoint status" lines.
func series(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if mf.GetName() != metrics.RequestsTotalName {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			b.WriteString(l["endpoint"] + " " + l["status"] + "\n")
		}
	}
	return b.String()
}

// TestUnmatchedWarning: a middleware that cannot see the ServeMux's
// patterns (a request-replacing middleware in between, no WithServeMux)
// labels everything unmatched; it says so once, in the log and in a
// counter.
func TestUnmatchedWarning(t *testing.T) {
	for _, tt := range []struct {
		name      string
		withMux   bool
		wantAlarm bool
	}{
		{"blind", false, true},
		{"WithServeMux", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			logger := slogTo(&logs)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /users/{id}", okHandler)
			opts := []metrics.Option{metrics.WithLogger(logger)}
			if tt.withMux {
				opts = append(opts, metrics.WithServeMux(mux))
			}
			reg := prometheus.NewRegistry()
			m, err := metrics.New(reg, opts...)
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(withValue(mux))
			for range 250 {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/users/1", nil))
			}
			var want float64
			if tt.wantAlarm {
				want = 1
			}
			if got := counterTotal(t, reg, metrics.RoutesMissingName); got != want {
				t.Errorf("%s = %v; want %v", metrics.RoutesMissingName, got, want)
			}
			if n := strings.Count(logs.String(), "labelled unmatched"); n != int(want) {
				t.Errorf("warnings = %d; want %v", n, want)
			}
		})
	}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// counterTotal sums the counter family name.
func counterTotal(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestServeMuxRedirectLabel: for CONNECT requests ServeMux reports the path
// of its own trailing-slash redirect as the request's pattern; it must not
// become a label, or every path would get a series. Other methods report
// the pattern redirected to.
func TestServeMuxRedirectLabel(t *testing.T) {
	for _, withMux := range []bool{false, true} {
		mux := http.NewServeMux()
		mux.HandleFunc("/users/{id}/", okHandler)
		var opts []metrics.Option
		h := http.Handler(mux)
		if withMux {
			opts = append(opts, metrics.WithServeMux(mux))
			h = withValue(mux)
		}
		reg := prometheus.NewRegistry()
		m, err := metrics.New(reg, opts...)
		if err != nil {
			t.Fatal(err)
		}
		h = m.Handler(h)
		for _, p := range []string{"/users/42", "/users/42/"} {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
		}
		for _, p := range []string{"/users/42", "/users/a%20b"} {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodConnect, p, nil))
		}
		if got, want := series(t, reg), "/users/{id}/ 200\n/users/{id}/ 307\nunmatched 307\n"; got != want {
			t.Errorf("WithServeMux %v: series:\n%swant:\n%s", withMux, got, want)
		}
	}
}
