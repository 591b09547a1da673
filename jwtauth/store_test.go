package jwtauth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemoryStoreSweeps(t *testing.T) {
	clk := newClock()
	m := newMemoryStore(t, WithClock(clk.Now))
	ctx := context.Background()
	now := clk.Now()
	for i := range 100 {
		id := string(rune('A'+i%26)) + string(rune('a'+i/26))
		_ = m.CreateRefresh(ctx, RefreshToken{Family: id, Hash: "h", IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
		_ = m.DenyToken(ctx, id, now.Add(time.Minute))
		_ = m.DenySubject(ctx, id, now, now.Add(time.Minute))
	}
	_ = m.CreateRefresh(ctx, RefreshToken{Family: "long", Hash: "h0", IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
	if _, err := m.RotateRefresh(ctx, "h0", RefreshToken{Family: "long", Hash: "h1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	for i := range 400 {
		_ = m.DenyToken(ctx, "new"+string(rune('a'+i%26))+string(rune('a'+i/26)), now.Add(time.Hour))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.families) != 1 || len(m.subjects) != 0 || len(m.jtis) > 400 {
		t.Errorf("after sweep: %d families, %d subjects, %d jtis; want 1, 0, ≤400", len(m.families), len(m.subjects), len(m.jtis))
	}
	if f := m.families["long"]; f == nil || len(f.tokens) != 1 {
		t.Errorf("family kept its expired used token: %+v", f)
	}
}

func TestNewMemoryStoreOptions(t *testing.T) {
	for _, o := range []Option{WithIssuer("x"), WithDenylistFailOpen(), WithoutCookies(), WithVerifiedCache(8), WithClock(nil)} {
		if _, err := NewMemoryStore(o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewMemoryStore(inapplicable option) = %v; want ErrInvalidConfig", err)
		}
	}
	if _, err := NewMemoryStore(WithClock(time.Now)); err != nil {
		t.Errorf("NewMemoryStore(WithClock) = %v; want nil", err)
	}
}

func BenchmarkMemoryStoreRevoked(b *testing.B) {
	m := newMemoryStore(b)
	ctx := context.Background()
	now := time.Now()
	_ = m.DenyToken(ctx, "other", now.Add(time.Hour))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if revoked, _ := m.Revoked(ctx, "jti", "sub", now); revoked {
				b.Fatal("revoked")
			}
		}
	})
}
