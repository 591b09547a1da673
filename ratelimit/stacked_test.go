package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// parseItems reads a RateLimit or RateLimit-Policy field (every field line,
// each a comma-separated list) into name → parameters.
func parseItems(t *testing.T, lines []string) map[string]map[string]int64 {
	t.Helper()
	out := map[string]map[string]int64{}
	for _, line := range lines {
		for _, item := range strings.Split(line, ",") {
			parts := strings.Split(strings.TrimSpace(item), ";")
			name, err := strconv.Unquote(parts[0])
			if err != nil {
				t.Fatalf("item %q: name is not a string: %v", item, err)
			}
			if _, dup := out[name]; dup {
				t.Fatalf("policy %q listed twice in %q", name, lines)
			}
			params := map[string]int64{}
			for _, p := range parts[1:] {
				k, v, _ := strings.Cut(p, "=")
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("item %q: parameter %q: %v", item, p, err)
				}
				params[k] = n
			}
			out[name] = params
		}
	}
	return out
}

// TestStackedLimiters: a global limiter in front of the router and a route
// limiter inside it each describe their own policy; neither overwrites the
// other, and remaining never exceeds the quota, burst included.
func TestStackedLimiters(t *testing.T) {
	routers := map[string]func(route func(http.Handler) http.Handler) http.Handler{
		"ServeMux": func(route func(http.Handler) http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("POST /login", route(okHandler))
			return mux
		},
		"chi": func(route func(http.Handler) http.Handler) http.Handler {
			r := chi.NewRouter()
			r.With(route).Post("/login", okHandler.ServeHTTP)
			return r
		},
	}
	for name, router := range routers {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			s := newMem(t, c)
			// The global limit has a burst above its limit: up to 40 at once,
			// 20 a minute after that.
			global := newLimiter(t, s, PerMinute(20).WithBurst(40), WithName("global"), WithLegacyHeaders())
			route := newLimiter(t, s, PerMinute(5), WithName("login"), WithKeyFunc(KeyBy(KeyByRoute, KeyByIP)), WithLegacyHeaders())
			global.now, route.now = c.Now, c.Now
			h := global.Handler(router(route.Handler))
			for i := 1; i <= 6; i++ {
				r := httptest.NewRequest(http.MethodPost, "/login", nil)
				r.RemoteAddr = "192.0.2.1:1"
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				pol := parseItems(t, w.Header().Values("RateLimit-Policy"))
				cur := parseItems(t, w.Header().Values("RateLimit"))
				if len(pol) != 2 || len(cur) != 2 {
					t.Fatalf("request %d: RateLimit-Policy %q, RateLimit %q; want both policies in each", i, w.Header().Values("RateLimit-Policy"), w.Header().Values("RateLimit"))
				}
				if pol["global"]["q"] != 20 || pol["login"]["q"] != 5 || pol["login"]["w"] != 60 {
					t.Fatalf("request %d: RateLimit-Policy = %v", i, pol)
				}
				for p, params := range cur {
					if q := pol[p]["q"]; params["r"] > q || params["r"] < 0 {
						t.Fatalf("request %d: %q remaining %d outside 0..quota %d", i, p, params["r"], q)
					}
				}
				if want := max(int64(5-i), 0); cur["login"]["r"] != want {
					t.Errorf("request %d: login remaining %d; want %d", i, cur["login"]["r"], want)
				}
				// The legacy headers describe the most restrictive policy.
				if got, want := w.Header().Get("X-RateLimit-Remaining"), strconv.FormatInt(cur["login"]["r"], 10); got != want || w.Header().Get("X-RateLimit-Limit") != "5" {
					t.Errorf("request %d: X-RateLimit-Remaining %q, Limit %q; want %q, 5", i, got, w.Header().Get("X-RateLimit-Limit"), want)
				}
				if len(w.Header().Values("X-RateLimit-Remaining")) != 1 {
					t.Errorf("request %d: X-RateLimit-Remaining sent %d times", i, len(w.Header().Values("X-RateLimit-Remaining")))
				}
				wantCode := http.StatusNoContent
				if i == 6 {
					wantCode = http.StatusTooManyRequests
				}
				_, retry := w.Header()["Retry-After"]
				if w.Code != wantCode || retry != (i == 6) {
					t.Fatalf("request %d: status %d, Retry-After %q; want %d", i, w.Code, w.Header().Get("Retry-After"), wantCode)
				}
			}
		})
	}
}

// TestRemainingCappedByQuota: a burst above the limit never advertises more
// remaining than the quota.
func TestRemainingCappedByQuota(t *testing.T) {
	c := newClock()
	l := newLimiter(t, newMem(t, c), PerMinute(20).WithBurst(40), WithLegacyHeaders())
	l.now = c.Now
	w := get(l.Handler(okHandler), "192.0.2.1:1")
	if got := w.Header().Get("RateLimit"); got != `"default";r=20;t=3` {
		t.Errorf("RateLimit = %q; want remaining capped at the quota 20", got)
	}
	if got := w.Header().Get("X-RateLimit-Remaining"); got != "20" {
		t.Errorf("X-RateLimit-Remaining = %q; want 20", got)
	}
}
