package redisstore

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

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/testenv"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func newAuth(t testing.TB, opts ...jwtauth.Option) *jwtauth.Default {
	t.Helper()
	key, err := jwtauth.HS256Key("k1", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := jwtauth.NewKeyRing(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := jwtauth.New[jwtauth.Claims](ring, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sign returns an access token for sub from an Auth on the same key without
// stores, which therefore works while Redis is down.
func sign(t testing.TB, sub string) string {
	t.Helper()
	set, err := newAuth(t).Issue(context.Background(), userClaims(sub))
	if err != nil {
		t.Fatal(err)
	}
	return set.AccessToken
}

func userClaims(sub string) jwtauth.Claims {
	var c jwtauth.Claims
	c.Subject = sub
	return c
}

func TestOutage(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: testenv.SilentAddr(t), MaxRetries: -1, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	var logs bytes.Buffer
	// New cannot read the eviction policy of a Redis that does not answer:
	// it warns and proceeds, within the deadline of its context.
	nctx, ncancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer ncancel()
	s, err := New(nctx, c, WithKeyPrefix("t:"), WithTimeout(50*time.Millisecond), WithBreaker(2, time.Hour),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok := jwtauth.RefreshToken{Family: "f", Hash: "h", Subject: "s", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
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
		if !errors.Is(err, jwtauth.ErrStoreUnavailable) {
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
	s2, _ := New(nctx, c, WithKeyPrefix("t:"), WithLogger(discard()))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s2.RevokeFamily(cctx, "f"); !errors.Is(err, context.Canceled) || errors.Is(err, jwtauth.ErrStoreUnavailable) {
		t.Errorf("RevokeFamily with a cancelled context = %v; want context.Canceled", err)
	}

	// The middleware answers 503 with Retry-After (fail closed) by default,
	// and lets the request through with WithDenylistFailOpen.
	for _, failOpen := range []bool{false, true} {
		opts := []jwtauth.Option{jwtauth.WithDenylist(s), jwtauth.WithRefreshStore(s)}
		if failOpen {
			opts = append(opts, jwtauth.WithDenylistFailOpen())
		}
		a := newAuth(t, opts...)
		token := sign(t, "42")
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
		if _, err := a.Refresh(ctx, "f.x", func(context.Context, string) (jwtauth.Claims, error) { return userClaims("42"), nil }); err != nil &&
			!errors.Is(err, jwtauth.ErrStoreUnavailable) && !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("Refresh with Redis down = %v; want ErrStoreUnavailable", err)
		}
	}
}
