package jwtauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifiedCacheHit(t *testing.T) {
	a, _ := newTestAuth(t)
	token, _ := mustSign(t, a, userClaims("u1", "admin"))
	ctx := context.Background()
	first, err := a.Verify(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if n := a.state.Load().cache.len(); n != 1 {
		t.Fatalf("cache holds %d entries after one token; want 1", n)
	}
	// What one request's handler does to its claims stays its own.
	first.Username = "changed by a handler"
	first.Roles = append(first.Roles, "root")
	second, err := a.Verify(ctx, token)
	if err != nil {
		t.Fatalf("Verify(cached) = %v", err)
	}
	if second == first {
		t.Error("Verify(cached) returned the same claims pointer twice; want a copy per call")
	}
	if second.Username != "name-u1" || second.Subject != "u1" || len(second.Roles) != 1 || !slices.Contains(second.Roles, "admin") {
		t.Errorf("Verify(cached) = %+v; want the signed claims", second)
	}
	second.Roles = append(second.Roles, "root")
	third, err := a.Verify(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Roles) != 1 || cap(third.Roles) != 1 {
		t.Errorf("Verify(cached) roles = %q (cap %d); want [admin], clipped", third.Roles, cap(third.Roles))
	}
}

func TestVerifiedCacheExpiry(t *testing.T) {
	a, clk := newTestAuth(t)
	token, _ := mustSign(t, a, userClaims("u1"))
	ctx := context.Background()
	if _, err := a.Verify(ctx, token); err != nil {
		t.Fatal(err)
	}
	clk.Add(defaultAccessTTL + defaultLeeway - time.Second)
	if _, err := a.Verify(ctx, token); err != nil {
		t.Fatalf("Verify(cached, within leeway) = %v; want nil", err)
	}
	clk.Add(time.Second)
	_, err := a.Verify(ctx, token)
	if !errors.Is(err, ErrTokenInvalid) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("Verify(cached, expired) = %v; want ErrTokenInvalid wrapping ErrTokenExpired", err)
	}
	if n := a.state.Load().cache.len(); n != 0 {
		t.Errorf("cache holds %d entries after expiry; want 0", n)
	}
}

func TestVerifiedCacheRingRotation(t *testing.T) {
	a, _ := newTestAuth(t)
	token, _ := mustSign(t, a, userClaims("u1"))
	ctx := context.Background()
	if _, err := a.Verify(ctx, token); err != nil {
		t.Fatal(err)
	}
	if err := a.SetKeyRing(testRing(t, testKey(t, "k2", []byte("abcdef0123456789abcdef0123456789")))); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, token); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("Verify(cached token of a removed key) = %v; want ErrTokenInvalid", err)
	}
	if n := a.state.Load().cache.len(); n != 0 {
		t.Errorf("new ring's cache holds %d entries; want 0", n)
	}
}

func TestVerifiedCacheRevocation(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(a *Default, c *Claims) error
	}{
		{"one token", func(a *Default, c *Claims) error { return a.Revoke(context.Background(), c) }},
		{"every token of the user", func(a *Default, c *Claims) error {
			return a.RevokeAll(context.Background(), c.Subject)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, clk := newTestAuth(t, WithDenylist(newMemoryStore(t)))
			token, _ := mustSign(t, a, userClaims("u1"))
			ctx := context.Background()
			c, err := a.Verify(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Second)
			if err := tt.revoke(a, c); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Verify(ctx, token); !errors.Is(err, ErrRevoked) {
				t.Errorf("Verify(cached, revoked) = %v; want ErrRevoked", err)
			}
		})
	}
}

func TestVerifiedCacheRefusalsNotCached(t *testing.T) {
	a, _ := newTestAuth(t)
	token, _ := mustSign(t, a, userClaims("u1"))
	ctx := context.Background()
	bad := token[:len(token)-2] + "AA"
	for range 2 {
		if _, err := a.Verify(ctx, bad); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("Verify(bad signature) = %v; want ErrTokenInvalid", err)
		}
	}
	if n := a.state.Load().cache.len(); n != 0 {
		t.Errorf("cache holds %d entries after refusals; want 0", n)
	}
}

func TestVerifiedCacheBounded(t *testing.T) {
	for _, size := range []int{1, 3, 32, 100} {
		a, _ := newTestAuth(t, WithVerifiedCache(size))
		ctx := context.Background()
		for i := range 3 * size {
			token, _ := mustSign(t, a, userClaims("u"+string(rune('a'+i%26))))
			if _, err := a.Verify(ctx, token); err != nil {
				t.Fatal(err)
			}
			if n := a.state.Load().cache.len(); n > size {
				t.Fatalf("WithVerifiedCache(%d): cache holds %d entries", size, n)
			}
		}
	}
}

func TestVerifiedCacheOff(t *testing.T) {
	a, _ := newTestAuth(t, WithVerifiedCache(0))
	if a.state.Load().cache != nil {
		t.Fatal("WithVerifiedCache(0) built a cache")
	}
	token, _ := mustSign(t, a, userClaims("u1"))
	for range 2 {
		if _, err := a.Verify(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewRejectsBadCacheSize(t *testing.T) {
	ring := testRing(t, testKey(t, "k1", testSecret))
	for _, n := range []int{-1, maxVerifiedCache + 1} {
		if _, err := New[Claims](ring, WithVerifiedCache(n)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(WithVerifiedCache(%d)) = nil error; want an error", n)
		}
	}
}

// validatedClaims has its own Validate, which a cache hit must run too.
type validatedClaims struct {
	Claims
	Tenant string `json:"tenant"`
}

func (c *validatedClaims) Validate() error {
	if c.Tenant == "blocked" {
		return errors.New("tenant blocked")
	}
	return nil
}

func TestVerifiedCacheHitWindow(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	c := &validatedClaims{Tenant: "t1"}
	c.IssuedAt = base.Unix()
	c.NotBefore = base.Add(10 * time.Second).Unix()
	c.ExpiresAt = base.Add(time.Minute).Unix()
	e := newCacheEntry[validatedClaims, *validatedClaims](c, 5*time.Second)
	blocked := *e
	blocked.claims.Tenant = "blocked"
	tests := []struct {
		name string
		e    *cacheEntry[validatedClaims]
		now  time.Time
		want bool
	}{
		{"before nbf minus leeway", e, base.Add(4 * time.Second), false},
		{"at nbf minus leeway", e, base.Add(5 * time.Second), true},
		{"before exp plus leeway", e, base.Add(64*time.Second + time.Nanosecond*999), true},
		{"at exp plus leeway", e, base.Add(65 * time.Second), false},
		{"own Validate fails", &blocked, base.Add(30 * time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := new(validatedClaims)
			ok := hit(tt.e, tt.now, p)
			if ok != tt.want {
				t.Fatalf("hit(%v) = %v; want %v", tt.now.Sub(base), ok, tt.want)
			}
			if ok && p.Tenant != "t1" {
				t.Errorf("hit claims = %+v; want the cached ones", p)
			}
		})
	}
}

func BenchmarkVerifyUncached(b *testing.B) {
	a, _ := newTestAuth(b, WithVerifiedCache(0))
	token, _ := mustSign(b, a, userClaims("u1", "admin", "user"))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Verify(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type upstreamKey struct{}

func TestMiddlewareCachedClaimsContext(t *testing.T) {
	a, err := New[validatedClaims](testRing(t, testKey(t, "k1", testSecret)), WithoutCookies())
	if err != nil {
		t.Fatal(err)
	}
	c := validatedClaims{Tenant: "t1"}
	c.Subject = "u1"
	token, _, err := a.sign(c)
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		custom, ok := CustomClaimsFromContext[validatedClaims](r.Context())
		base, okBase := ClaimsFromContext(r.Context())
		up, _ := r.Context().Value(upstreamKey{}).(string)
		if !ok || !okBase || custom.Tenant != "t1" || base.Subject != "u1" || up != "kept" {
			t.Errorf("context: custom %+v %v, base %+v %v, upstream %q", custom, ok, base, okBase, up)
		}
	}))
	for range 2 { // a miss, then a hit
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req = req.WithContext(context.WithValue(req.Context(), upstreamKey{}, "kept"))
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d; want 200", w.Code)
		}
	}
}
