package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

func newLimiter(t *testing.T, s Store, r Rate, opts ...Option) *Limiter {
	t.Helper()
	l, err := New(s, r, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

func get(h http.Handler, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestNewErrors(t *testing.T) {
	s := newMem(t, nil)
	tests := []struct {
		name  string
		store Store
		rate  Rate
		opts  []Option
		want  error
	}{
		{"nil store", nil, PerSecond(1), nil, ErrInvalidConfig},
		{"typed nil store", (*MemoryStore)(nil), PerSecond(1), nil, ErrInvalidConfig},
		{"invalid rate", s, Rate{Limit: 1}, nil, ErrInvalidRate},
		{"invalid rate is a config error", s, Rate{Limit: 1}, nil, ErrInvalidConfig},
		{"nil option", s, PerSecond(1), []Option{nil}, ErrInvalidConfig},
		{"nil addr in KeyByAddr", s, PerSecond(1), []Option{WithKeyFunc(KeyByAddr(nil))}, ErrInvalidConfig},
		{"nil user in KeyByUser", s, PerSecond(1), []Option{WithKeyFunc(KeyByUser(nil))}, ErrInvalidConfig},
		{"nil part in KeyBy", s, PerSecond(1), []Option{WithKeyFunc(KeyBy(KeyByIP, nil))}, ErrInvalidConfig},
		{"empty KeyBy", s, PerSecond(1), []Option{WithKeyFunc(KeyBy())}, ErrInvalidConfig},
		{"nil cost func", s, PerSecond(1), []Option{WithCost(nil)}, ErrInvalidConfig},
		{"nil denied handler", s, PerSecond(1), []Option{WithDeniedHandler(nil)}, ErrInvalidConfig},
		{"nil error handler", s, PerSecond(1), []Option{WithErrorHandler(nil)}, ErrInvalidConfig},
		{"bad algorithm", s, PerSecond(1), []Option{WithAlgorithm(9)}, ErrInvalidConfig},
		{"bad name", s, PerSecond(1), []Option{WithName(`a"b`)}, ErrInvalidConfig},
		{"empty name", s, PerSecond(1), []Option{WithName("")}, ErrInvalidConfig},
		{"nil key func", s, PerSecond(1), []Option{WithKeyFunc(nil)}, ErrInvalidConfig},
		{"bad empty-key policy", s, PerSecond(1), []Option{WithEmptyKey(5)}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.store, tt.rate, tt.opts...); !errors.Is(err, tt.want) {
				t.Fatalf("New = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestHandlerHeadersAndDenial(t *testing.T) {
	c := newClock()
	s := newMem(t, c)
	l := newLimiter(t, s, PerMinute(2), WithName("api"), WithLegacyHeaders())
	l.now = c.Now
	h := l.Handler(okHandler)

	w := get(h, "192.0.2.1:1")
	if w.Code != http.StatusNoContent {
		t.Fatalf("first request: status %d", w.Code)
	}
	want := map[string]string{
		"RateLimit-Policy":      `"api";q=2;w=60`,
		"RateLimit":             `"api";r=1;t=30`,
		"X-RateLimit-Limit":     "2",
		"X-RateLimit-Remaining": "1",
		"X-RateLimit-Reset":     strconv.FormatInt(c.Now().Add(30*time.Second).Unix(), 10),
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q; want %q", k, got, v)
		}
	}
	if w.Header().Get("Retry-After") != "" {
		t.Error("Retry-After sent on an allowed request")
	}

	get(h, "192.0.2.1:2")
	c.Add(100 * time.Millisecond)
	w = get(h, "192.0.2.1:3")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d; want 429", w.Code)
	}
	// The true wait is 29.9s: Retry-After rounds up, never down.
	if got := w.Header().Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After = %q; want 30", got)
	}
	if got := w.Header().Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("Content-Type = %q", got)
	}
	var p struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != 429 || p.Title != "Too Many Requests" {
		t.Errorf("body %q: %+v, %v", w.Body, p, err)
	}
	if got := w.Header().Get("RateLimit"); got != `"api";r=0;t=60` {
		t.Errorf("RateLimit on denial = %q", got)
	}

	// Another client has its own quota.
	if w := get(h, "192.0.2.2:1"); w.Code != http.StatusNoContent {
		t.Errorf("other client: status %d", w.Code)
	}
}

func TestHandlerOptions(t *testing.T) {
	s := newMem(t, nil)
	t.Run("custom denied handler receives the decision", func(t *testing.T) {
		var got Decision
		l := newLimiter(t, s, PerHour(1), WithName("custom"), WithDeniedHandler(func(w http.ResponseWriter, r *http.Request, d Decision) {
			got = d
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		h := l.Handler(okHandler)
		get(h, "192.0.2.1:1")
		w := get(h, "192.0.2.1:1")
		if w.Code != http.StatusServiceUnavailable || got.Allowed || got.RetryAfter <= 0 {
			t.Fatalf("status %d, decision %+v", w.Code, got)
		}
		if w.Header().Get("Retry-After") == "" {
			t.Error("Retry-After missing before custom handler")
		}
	})
	t.Run("without fields", func(t *testing.T) {
		l := newLimiter(t, s, PerHour(5), WithName("quiet"), WithoutFields())
		w := get(l.Handler(okHandler), "192.0.2.1:1")
		if w.Header().Get("RateLimit") != "" || w.Header().Get("RateLimit-Policy") != "" {
			t.Errorf("fields sent: %v", w.Header())
		}
	})
	t.Run("cost", func(t *testing.T) {
		l := newLimiter(t, s, PerHour(5), WithName("cost"), WithCost(func(r *http.Request) int64 { return 3 }))
		h := l.Handler(okHandler)
		if w := get(h, "192.0.2.1:1"); w.Code != http.StatusNoContent {
			t.Fatalf("first: %d", w.Code)
		}
		if w := get(h, "192.0.2.1:1"); w.Code != http.StatusTooManyRequests {
			t.Fatalf("second: %d; want 429", w.Code)
		}
	})
	t.Run("negative cost", func(t *testing.T) {
		l := newLimiter(t, s, PerHour(5), WithName("neg"), WithCost(func(r *http.Request) int64 { return -1 }))
		if w := get(l.Handler(okHandler), "192.0.2.1:1"); w.Code != http.StatusBadRequest {
			t.Fatalf("status %d; want 400", w.Code)
		}
	})
	t.Run("empty key rejected by default", func(t *testing.T) {
		l := newLimiter(t, s, PerHour(5), WithName("rej"))
		w := get(l.Handler(okHandler), "garbage")
		if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("status %d %q; want 400 problem", w.Code, w.Header().Get("Content-Type"))
		}
	})
	t.Run("empty key skipped", func(t *testing.T) {
		l := newLimiter(t, s, PerHour(1), WithName("skip"), WithEmptyKey(SkipEmptyKey))
		h := l.Handler(okHandler)
		for i := 0; i < 3; i++ {
			if w := get(h, "garbage"); w.Code != http.StatusNoContent || w.Header().Get("RateLimit") != "" {
				t.Fatalf("request %d: status %d", i, w.Code)
			}
		}
	})
	t.Run("custom error handler", func(t *testing.T) {
		var got error
		l := newLimiter(t, s, PerHour(1), WithName("eh"), WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(http.StatusUnauthorized)
		}))
		if w := get(l.Handler(okHandler), ""); w.Code != http.StatusUnauthorized || !errors.Is(got, ErrEmptyKey) {
			t.Fatalf("status %d err %v", w.Code, got)
		}
	})
	t.Run("store error is a 500 without details", func(t *testing.T) {
		l := newLimiter(t, failingStore{}, PerHour(1))
		w := get(l.Handler(okHandler), "192.0.2.1:1")
		if w.Code != http.StatusInternalServerError || contains(w.Body.String(), "secret") {
			t.Fatalf("status %d body %q", w.Code, w.Body)
		}
	})
}

type failingStore struct{}

func (failingStore) Take(context.Context, string, Rate, Algorithm, int64) (Decision, error) {
	return Decision{}, errors.New("secret internal detail")
}

func TestLimiterAllow(t *testing.T) {
	c := newClock()
	s := newMem(t, c)
	a := newLimiter(t, s, PerMinute(3), WithName("a"))
	b := newLimiter(t, s, PerMinute(3), WithName("b"))
	ctx := context.Background()
	if d, err := a.AllowN(ctx, "u", 3); err != nil || !d.Allowed {
		t.Fatalf("AllowN(3) = %+v, %v", d, err)
	}
	if d, _ := a.Allow(ctx, "u"); d.Allowed {
		t.Fatal("fourth allowed")
	}
	// A different name is a different namespace in the same store.
	if d, _ := b.Allow(ctx, "u"); !d.Allowed {
		t.Fatal("limiter b shares a's quota")
	}
	// The same name shares.
	a2 := newLimiter(t, s, PerMinute(3), WithName("a"))
	if d, _ := a2.Allow(ctx, "u"); d.Allowed {
		t.Fatal("same-name limiter does not share the quota")
	}
}

func TestCeilSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int64{0: 0, -time.Second: 0, time.Nanosecond: 1, time.Second: 1, 1500 * time.Millisecond: 2} {
		if got := ceilSeconds(d); got != want {
			t.Errorf("ceilSeconds(%v) = %d; want %d", d, got, want)
		}
	}
}

// Benchmarks of the middleware alone; comparisons with other libraries are
// in the bench module.
func BenchmarkHandler(b *testing.B) {
	s, _ := NewMemoryStore()
	l, _ := New(s, PerSecond(1<<30))
	h := l.Handler(okHandler)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	})
}

func TestHandlerIPv6SharesSlash64(t *testing.T) {
	for _, custom := range []bool{false, true} {
		s := newMem(t, nil)
		var opts []Option
		if custom {
			opts = append(opts, WithKeyFunc(KeyByIP))
		}
		h := newLimiter(t, s, PerHour(2), opts...).Handler(okHandler)
		get(h, "[2001:db8:1:2::1]:1")
		get(h, "[2001:db8:1:2::ffff]:1")
		if w := get(h, "[2001:db8:1:2:aaaa::3]:1"); w.Code != http.StatusTooManyRequests {
			t.Fatalf("custom=%v: third address in the same /64: status %d; want 429", custom, w.Code)
		}
		if w := get(h, "[2001:db8:1:3::1]:1"); w.Code != http.StatusNoContent {
			t.Fatalf("custom=%v: another /64: status %d; want 204", custom, w.Code)
		}
	}
}

func TestHandlerFieldValues(t *testing.T) {
	long := strings.Repeat("n", 64) // the longest name outgrows the inline buffer
	tests := []struct{ name, want string }{
		{"api", `"api";r=1;t=30`},
		{long, `"` + long + `";r=1;t=30`},
	}
	for _, tt := range tests {
		t.Run(tt.want[:5], func(t *testing.T) {
			c := newClock()
			l := newLimiter(t, newMem(t, c), PerMinute(2), WithName(tt.name))
			l.now = c.Now
			// A later handler appending to the fields must not change the
			// values the next response gets.
			h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("RateLimit", "extra")
				w.Header().Add("RateLimit-Policy", "extra")
			}))
			first := get(h, "192.0.2.1:1")
			if got := first.Header().Values("RateLimit"); len(got) != 2 || got[0] != tt.want {
				t.Errorf("RateLimit = %q; want [%q extra]", got, tt.want)
			}
			second := get(l.Handler(okHandler), "192.0.2.2:1")
			if got := second.Header().Values("RateLimit"); len(got) != 1 || got[0] != tt.want {
				t.Errorf("next response's RateLimit = %q; want [%q]", got, tt.want)
			}
		})
	}
}
