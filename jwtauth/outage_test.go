package jwtauth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/redis/go-redis/v9"
)

func TestRedisStoreOutage(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: testenv.SilentAddr(t), MaxRetries: -1, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	var logs bytes.Buffer
	s, err := NewRedisStore(c, WithKeyPrefix("t:"), WithTimeout(50*time.Millisecond), WithBreaker(2, time.Hour),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok := RefreshToken{Family: "f", Hash: "h", Subject: "s", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	calls := []struct {
		name string
		fn   func() error
	}{
		{"CreateRefresh", func() error { return s.CreateRefresh(ctx, tok) }},
		{"RotateRefresh", func() error { _, err := s.RotateRefresh(ctx, "h", tok); return err }},
		{"RevokeFamily", func() error { return s.RevokeFamily(ctx, "f") }},
		{"DenyToken", func() error { return s.DenyToken(ctx, "j", now.Add(time.Hour)) }},
		{"DenySubject", func() error { return s.DenySubject(ctx, "s", now, now.Add(time.Hour)) }},
		{"Revoked", func() error { _, err := s.Revoked(ctx, "j", "s", now); return err }},
	}
	for _, tc := range calls {
		start := time.Now()
		err := tc.fn()
		// Generous: the bound is the 50 ms call timeout, far below the
		// client's own 30 s read timeout.
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s on a frozen Redis took %v", tc.name, took)
		}
		if !errors.Is(err, ErrStoreUnavailable) {
			t.Errorf("%s on a frozen Redis = %v; want ErrStoreUnavailable", tc.name, err)
		}
	}
	if !s.brk.Open() {
		t.Fatal("breaker still closed")
	}
	if n := strings.Count(logs.String(), "circuit breaker open"); n != 1 {
		t.Errorf("breaker opening logged %d times; want once", n)
	}
	// A caller that gave up is not Redis's fault.
	s2, _ := NewRedisStore(c, WithKeyPrefix("t:"), WithLogger(slog.New(slog.DiscardHandler)))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s2.RevokeFamily(cctx, "f"); !errors.Is(err, context.Canceled) || errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("RevokeFamily with a cancelled context = %v; want context.Canceled", err)
	}
	for _, o := range []RedisOption{WithTimeout(0), WithBreaker(0, time.Second), WithBreaker(1, 0)} {
		if _, err := NewRedisStore(c, WithKeyPrefix("t:"), o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("bad option: %v; want ErrInvalidConfig", err)
		}
	}

	// The middleware answers 503 with Retry-After (fail closed) by default,
	// and lets the request through with WithDenylistFailOpen.
	for _, failOpen := range []bool{false, true} {
		opts := []Option{WithDenylist(s), WithRefreshStore(s)}
		if failOpen {
			opts = append(opts, WithDenylistFailOpen())
		}
		a, _ := newTestAuth(t, opts...)
		token, _ := mustSign(t, a, userClaims("42"))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(rec, req)
		want := http.StatusServiceUnavailable
		if failOpen {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Errorf("failOpen=%v: middleware = %d; want %d", failOpen, rec.Code, want)
		}
		if !failOpen && (rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json") {
			t.Errorf("503 without Retry-After or problem+json: %v", rec.Header())
		}
		if _, err := a.Refresh(ctx, "f.x", func(context.Context, string) (Claims, error) { return userClaims("42"), nil }); err != nil &&
			!errors.Is(err, ErrStoreUnavailable) && !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("Refresh with Redis down = %v; want ErrStoreUnavailable", err)
		}
	}
}
