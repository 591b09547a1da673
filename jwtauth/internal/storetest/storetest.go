// Package storetest is the behaviour every jwtauth refresh store and
// denylist must have, run by the tests of each implementation.
package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/testenv"
)

// Interface is what a store under test implements.
type Interface interface {
	jwtauth.RefreshStore
	jwtauth.Denylist
}

var secret = []byte("0123456789abcdef0123456789abcdef")

func newAuth(t *testing.T, clk *testenv.Clock, opts ...jwtauth.Option) *jwtauth.Default {
	t.Helper()
	key, err := jwtauth.HS256Key("k1", secret)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := jwtauth.NewKeyRing(key)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]jwtauth.Option{jwtauth.WithIssuer("covet"), jwtauth.WithAudience("api"), jwtauth.WithClock(clk.Now)}, opts...)
	a, err := jwtauth.New[jwtauth.Claims](ring, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func userClaims(sub string, roles ...string) jwtauth.Claims {
	c := jwtauth.Claims{Username: "name-" + sub, Roles: roles}
	c.Subject = sub
	return c
}

func loadUser(roles ...string) func(context.Context, string) (jwtauth.Claims, error) {
	return func(_ context.Context, subject string) (jwtauth.Claims, error) {
		return userClaims(subject, roles...), nil
	}
}

// Store runs the behaviour every [jwtauth.RefreshStore] and
// [jwtauth.Denylist] must have against s, whose records must start empty.
func Store(t *testing.T, s Interface) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	tok := func(family, hash string, exp time.Duration) jwtauth.RefreshToken {
		return jwtauth.RefreshToken{Family: family, Hash: hash, Subject: "u-" + family, IssuedAt: now, ExpiresAt: now.Add(exp)}
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
		if _, err := s.RotateRefresh(ctx, "h1", tok("famA", "h4", time.Hour)); !errors.Is(err, jwtauth.ErrRefreshReused) {
			t.Fatalf("RotateRefresh(h1 again) = %v; want jwtauth.ErrRefreshReused", err)
		}
		if _, err := s.RotateRefresh(ctx, "h3", tok("famA", "h5", time.Hour)); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(h3 after reuse) = %v; want jwtauth.ErrRefreshInvalid (family revoked)", err)
		}
	})

	t.Run("unknown token or family", func(t *testing.T) {
		if err := s.CreateRefresh(ctx, tok("famB", "h1", time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "nope", tok("famB", "h2", time.Hour)); !errors.Is(err, jwtauth.ErrRefreshInvalid) || errors.Is(err, jwtauth.ErrRefreshReused) {
			t.Errorf("RotateRefresh(unknown hash) = %v; want jwtauth.ErrRefreshInvalid", err)
		}
		if _, err := s.RotateRefresh(ctx, "h1", tok("famZ", "h2", time.Hour)); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(unknown family) = %v; want jwtauth.ErrRefreshInvalid", err)
		}
	})

	t.Run("revoked family", func(t *testing.T) {
		if err := s.CreateRefresh(ctx, tok("famC", "h1", time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeFamily(ctx, "famC"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "h1", tok("famC", "h2", time.Hour)); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(revoked family) = %v; want jwtauth.ErrRefreshInvalid", err)
		}
	})

	t.Run("expired token", func(t *testing.T) {
		if err := s.CreateRefresh(ctx, tok("famD", "h1", -time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "h1", tok("famD", "h2", time.Hour)); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(expired) = %v; want jwtauth.ErrRefreshInvalid", err)
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
			case !errors.Is(err, jwtauth.ErrRefreshInvalid):
				t.Errorf("concurrent RotateRefresh = %v; want nil or jwtauth.ErrRefreshInvalid", err)
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

// Flow runs the refresh and revocation rules of an [jwtauth.Auth] built on
// store, with a clock that starts at the real time (so that a store with its
// own clock agrees with it) and moves only when told.
func Flow(t *testing.T, store Interface) {
	t.Helper()
	ctx := context.Background()
	clk := testenv.NewClock(time.Now().Truncate(time.Second))
	a := newAuth(t, clk, jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store))

	t.Run("rotation and family revocation on reuse", func(t *testing.T) {
		set1, err := a.Issue(ctx, userClaims("u1", "user"))
		if err != nil {
			t.Fatal(err)
		}
		set2, err := a.Refresh(ctx, set1.RefreshToken, loadUser("user", "admin"))
		if err != nil {
			t.Fatalf("Refresh(first use) = %v; want nil", err)
		}
		if set2.RefreshToken == set1.RefreshToken || set2.AccessToken == set1.AccessToken || set2.CSRFToken == set1.CSRFToken {
			t.Error("Refresh returned a token it was given")
		}
		c, err := a.Verify(ctx, set2.AccessToken)
		if err != nil || c.Subject != "u1" || !slices.Contains(c.Roles, "admin") {
			t.Fatalf("Verify(refreshed access) = %+v, %v; want u1 with the reloaded roles", c, err)
		}
		if _, err := a.Refresh(ctx, set1.RefreshToken, loadUser()); !errors.Is(err, jwtauth.ErrRefreshReused) {
			t.Fatalf("Refresh(reuse) = %v; want jwtauth.ErrRefreshReused", err)
		}
		if _, err := a.Refresh(ctx, set2.RefreshToken, loadUser()); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("Refresh(descendant after reuse) = %v; want jwtauth.ErrRefreshInvalid", err)
		}
	})

	t.Run("subject is the family's", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u2"))
		set2, err := a.Refresh(ctx, set.RefreshToken, func(context.Context, string) (jwtauth.Claims, error) {
			return userClaims("someone-else"), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := a.Verify(ctx, set2.AccessToken); c == nil || c.Subject != "u2" {
			t.Errorf("refreshed subject = %v; want u2", c)
		}
	})

	t.Run("malformed refresh tokens", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u3"))
		fam, secret, _ := strings.Cut(set.RefreshToken, ".")
		for _, bad := range []string{"", "abc", fam, fam + ".", "." + secret, fam + "." + secret + "x",
			"!" + fam[1:] + "." + secret, fam + ".!" + secret[1:], set.AccessToken} {
			if _, err := a.Refresh(ctx, bad, loadUser()); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
				t.Errorf("Refresh(%q) = %v; want jwtauth.ErrRefreshInvalid", bad, err)
			}
		}
		// A forged secret in a real family is refused and does not burn the family.
		forged := fam + "." + strings.Repeat("A", len(secret))
		if _, err := a.Refresh(ctx, forged, loadUser()); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("Refresh(forged secret) = %v; want jwtauth.ErrRefreshInvalid", err)
		}
		if _, err := a.Refresh(ctx, set.RefreshToken, loadUser()); err != nil {
			t.Errorf("Refresh(real token after forgery) = %v; want nil", err)
		}
	})

	t.Run("load failure", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u4"))
		errGone := errors.New("user deleted")
		_, err := a.Refresh(ctx, set.RefreshToken, func(context.Context, string) (jwtauth.Claims, error) { return jwtauth.Claims{}, errGone })
		if !errors.Is(err, errGone) {
			t.Errorf("Refresh(load fails) = %v; want it wrapped", err)
		}
	})

	t.Run("logout revokes the family", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u5"))
		if err := a.Logout(ctx, set.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if err := a.Logout(ctx, "garbage"); err != nil {
			t.Errorf("Logout(garbage) = %v; want nil", err)
		}
		if _, err := a.Refresh(ctx, set.RefreshToken, loadUser()); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("Refresh(after logout) = %v; want jwtauth.ErrRefreshInvalid", err)
		}
	})

	t.Run("revoke one access token", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u6"))
		other, _ := a.Issue(ctx, userClaims("u6"))
		c, err := a.Verify(ctx, set.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Revoke(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(ctx, set.AccessToken); !errors.Is(err, jwtauth.ErrRevoked) {
			t.Errorf("Verify(revoked) = %v; want jwtauth.ErrRevoked", err)
		}
		if _, err := a.Verify(ctx, other.AccessToken); err != nil {
			t.Errorf("Verify(other token of the user) = %v; want nil", err)
		}
		if err := a.Revoke(ctx, &jwtauth.Claims{}); !errors.Is(err, jwtauth.ErrMissingClaim) {
			t.Errorf("Revoke(no jti) = %v; want jwtauth.ErrMissingClaim", err)
		}
	})

	t.Run("revoke all of a user", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u7"))
		bystander, _ := a.Issue(ctx, userClaims("u8"))
		clk.Add(time.Second)
		if err := a.RevokeAll(ctx, "u7"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(ctx, set.AccessToken); !errors.Is(err, jwtauth.ErrRevoked) {
			t.Errorf("Verify(after RevokeAll) = %v; want jwtauth.ErrRevoked", err)
		}
		if _, err := a.Refresh(ctx, set.RefreshToken, loadUser()); !errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("Refresh(after RevokeAll) = %v; want jwtauth.ErrRefreshInvalid", err)
		}
		if _, err := a.Verify(ctx, bystander.AccessToken); err != nil {
			t.Errorf("Verify(other user) = %v; want nil", err)
		}
		clk.Add(time.Second)
		fresh, err := a.Issue(ctx, userClaims("u7"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(ctx, fresh.AccessToken); err != nil {
			t.Errorf("Verify(login after RevokeAll) = %v; want nil", err)
		}
		if _, err := a.Refresh(ctx, fresh.RefreshToken, loadUser()); err != nil {
			t.Errorf("Refresh(login after RevokeAll) = %v; want nil", err)
		}
	})
}
