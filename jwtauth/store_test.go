package jwtauth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// storeUnderTest is what both stores implement.
type storeUnderTest interface {
	RefreshStore
	Denylist
}

// testStore runs the behaviour every RefreshStore and Denylist must have.
func testStore(t *testing.T, s storeUnderTest) {
	ctx := context.Background()
	now := time.Now()
	tok := func(family, hash string, exp time.Duration) RefreshToken {
		return RefreshToken{Family: family, Hash: hash, Subject: "u-" + family, IssuedAt: now, ExpiresAt: now.Add(exp)}
	}

	t.Run("rotation and reuse", func(t *testing.T) {
		if err := s.CreateRefresh(ctx, tok("famA", "h1", time.Hour)); err != nil {
			t.Fatal(err)
		}
		old, err := s.RotateRefresh(ctx, "h1", tok("famA", "h2", time.Hour))
		if err != nil {
			t.Fatalf("RotateRefresh(h1) = %v; want nil", err)
		}
		if old.Subject != "u-famA" || old.Hash != "h1" || old.IssuedAt.UnixMilli() != now.UnixMilli() {
			t.Errorf("RotateRefresh(h1) = %+v; want subject u-famA, hash h1, issued %v", old, now)
		}
		if _, err := s.RotateRefresh(ctx, "h2", tok("famA", "h3", time.Hour)); err != nil {
			t.Fatalf("RotateRefresh(h2) = %v; want nil", err)
		}
		if _, err := s.RotateRefresh(ctx, "h1", tok("famA", "h4", time.Hour)); !errors.Is(err, ErrRefreshReused) {
			t.Fatalf("RotateRefresh(h1 again) = %v; want ErrRefreshReused", err)
		}
		if _, err := s.RotateRefresh(ctx, "h3", tok("famA", "h5", time.Hour)); !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(h3 after reuse) = %v; want ErrRefreshInvalid (family revoked)", err)
		}
	})

	t.Run("unknown token or family", func(t *testing.T) {
		if err := s.CreateRefresh(ctx, tok("famB", "h1", time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "nope", tok("famB", "h2", time.Hour)); !errors.Is(err, ErrRefreshInvalid) || errors.Is(err, ErrRefreshReused) {
			t.Errorf("RotateRefresh(unknown hash) = %v; want ErrRefreshInvalid", err)
		}
		if _, err := s.RotateRefresh(ctx, "h1", tok("famZ", "h2", time.Hour)); !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(unknown family) = %v; want ErrRefreshInvalid", err)
		}
	})

	t.Run("revoked family", func(t *testing.T) {
		if err := s.CreateRefresh(ctx, tok("famC", "h1", time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeFamily(ctx, "famC"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "h1", tok("famC", "h2", time.Hour)); !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(revoked family) = %v; want ErrRefreshInvalid", err)
		}
	})

	t.Run("expired token", func(t *testing.T) {
		if err := s.CreateRefresh(ctx, tok("famD", "h1", -time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "h1", tok("famD", "h2", time.Hour)); !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(expired) = %v; want ErrRefreshInvalid", err)
		}
	})

	t.Run("concurrent rotations: one wins", func(t *testing.T) {
		if err := s.CreateRefresh(ctx, tok("famE", "h1", time.Hour)); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.RotateRefresh(ctx, "h1", tok("famE", "next"+string(rune('a'+i)), time.Hour))
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrRefreshInvalid):
				t.Errorf("concurrent RotateRefresh = %v; want nil or ErrRefreshInvalid", err)
			}
		}
		if wins != 1 {
			t.Errorf("concurrent rotations won %d times; want 1", wins)
		}
	})

	t.Run("denylist by jti", func(t *testing.T) {
		if err := s.DenyToken(ctx, "jti-1", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.DenyToken(ctx, "jti-old", now.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			jti  string
			want bool
		}{{"jti-1", true}, {"jti-2", false}, {"jti-old", false}, {"", false}} {
			got, err := s.Revoked(ctx, tt.jti, "nobody", now)
			if err != nil || got != tt.want {
				t.Errorf("Revoked(%q) = %v, %v; want %v", tt.jti, got, err, tt.want)
			}
		}
	})

	t.Run("denylist by subject", func(t *testing.T) {
		nbf := now.Truncate(time.Second)
		if err := s.DenySubject(ctx, "u9", nbf, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// An earlier "not before" must not undo a later one.
		if err := s.DenySubject(ctx, "u9", nbf.Add(-time.Hour), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			jti     string
			subject string
			issued  time.Time
			want    bool
		}{
			{"j", "u9", nbf.Add(-time.Second), true},
			{"", "u9", nbf.Add(-time.Second), true},
			{"j", "u9", nbf, false},
			{"j", "u9", nbf.Add(time.Minute), false},
			{"j", "u8", nbf.Add(-time.Hour), false},
		} {
			got, err := s.Revoked(ctx, tt.jti, tt.subject, tt.issued)
			if err != nil || got != tt.want {
				t.Errorf("Revoked(%q, %q, %v) = %v, %v; want %v", tt.jti, tt.subject, tt.issued, got, err, tt.want)
			}
		}
	})
}

func TestMemoryStore(t *testing.T) { testStore(t, NewMemoryStore()) }

func TestMemoryStoreSweeps(t *testing.T) {
	clk := newClock()
	m := NewMemoryStore()
	m.now = clk.Now
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

func BenchmarkMemoryStoreRevoked(b *testing.B) {
	m := NewMemoryStore()
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
