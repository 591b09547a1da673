package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func loadUser(roles ...string) func(context.Context, string) (Claims, error) {
	return func(_ context.Context, subject string) (Claims, error) {
		return userClaims(subject, roles...), nil
	}
}

func TestIssueTokenSet(t *testing.T) {
	a, _ := newTestAuth(t, WithRefreshStore(NewMemoryStore()))
	set, err := a.Issue(context.Background(), userClaims("u1"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(set)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"access_token", "refresh_token", "csrf_token", "token_type", "expires_in"} {
		if _, ok := m[k]; !ok {
			t.Errorf("token set JSON %s lacks %q", b, k)
		}
	}
	if len(m) != 5 || m["token_type"] != "Bearer" || m["expires_in"] != 900.0 {
		t.Errorf("token set JSON = %s; want five fields, Bearer, expires_in 900", b)
	}
	c, err := a.Verify(context.Background(), set.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.CSRF != csrfBinding(set.CSRFToken) {
		t.Error("access token is not bound to the CSRF token")
	}
	if _, err := a.Verify(context.Background(), set.RefreshToken); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("Verify(refresh token as access token) = %v; want ErrTokenInvalid", err)
	}
	if _, err := a.Issue(context.Background(), Claims{}); err == nil {
		t.Error("Issue(no subject) = nil error")
	}
}

func TestNoRefreshStore(t *testing.T) {
	a, _ := newTestAuth(t)
	ctx := context.Background()
	set, err := a.Issue(ctx, userClaims("u1"))
	if err != nil || set.AccessToken == "" || set.RefreshToken != "" || set.RefreshExpiresIn != 0 {
		t.Errorf("Issue without a refresh store = %+v, %v; want an access token only", set, err)
	}
	rec := httptest.NewRecorder()
	a.SetCookies(rec, set)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-refresh" {
			t.Errorf("SetCookies set a refresh cookie for a set without a refresh token")
		}
		if c.Name == "__Host-csrf" && c.MaxAge != set.ExpiresIn {
			t.Errorf("CSRF cookie Max-Age = %d; want the access token's %d", c.MaxAge, set.ExpiresIn)
		}
	}
	if _, err := a.Refresh(ctx, "x", loadUser()); !errors.Is(err, ErrNoRefreshStore) {
		t.Errorf("Refresh = %v; want ErrNoRefreshStore", err)
	}
	if err := a.Logout(ctx, "x"); !errors.Is(err, ErrNoRefreshStore) {
		t.Errorf("Logout = %v; want ErrNoRefreshStore", err)
	}
	if err := a.Revoke(ctx, &Claims{}); err == nil {
		t.Error("Revoke without denylist = nil error")
	}
	if err := a.RevokeAll(ctx, "u1"); err == nil {
		t.Error("RevokeAll without denylist = nil error")
	}
}

// testRefreshFlow runs the refresh rules against a store.
func testRefreshFlow(t *testing.T, store storeUnderTest) {
	ctx := context.Background()
	a, clk := newTestAuth(t, WithRefreshStore(store), WithDenylist(store))

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
		if _, err := a.Refresh(ctx, set1.RefreshToken, loadUser()); !errors.Is(err, ErrRefreshReused) {
			t.Fatalf("Refresh(reuse) = %v; want ErrRefreshReused", err)
		}
		if _, err := a.Refresh(ctx, set2.RefreshToken, loadUser()); !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("Refresh(descendant after reuse) = %v; want ErrRefreshInvalid", err)
		}
	})

	t.Run("subject is the family's", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u2"))
		set2, err := a.Refresh(ctx, set.RefreshToken, func(context.Context, string) (Claims, error) {
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
			if _, err := a.Refresh(ctx, bad, loadUser()); !errors.Is(err, ErrRefreshInvalid) {
				t.Errorf("Refresh(%q) = %v; want ErrRefreshInvalid", bad, err)
			}
		}
		// A forged secret in a real family is refused and does not burn the family.
		forged := fam + "." + strings.Repeat("A", len(secret))
		if _, err := a.Refresh(ctx, forged, loadUser()); !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("Refresh(forged secret) = %v; want ErrRefreshInvalid", err)
		}
		if _, err := a.Refresh(ctx, set.RefreshToken, loadUser()); err != nil {
			t.Errorf("Refresh(real token after forgery) = %v; want nil", err)
		}
	})

	t.Run("load failure", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u4"))
		errGone := errors.New("user deleted")
		_, err := a.Refresh(ctx, set.RefreshToken, func(context.Context, string) (Claims, error) { return Claims{}, errGone })
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
		if _, err := a.Refresh(ctx, set.RefreshToken, loadUser()); !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("Refresh(after logout) = %v; want ErrRefreshInvalid", err)
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
		if _, err := a.Verify(ctx, set.AccessToken); !errors.Is(err, ErrRevoked) {
			t.Errorf("Verify(revoked) = %v; want ErrRevoked", err)
		}
		if _, err := a.Verify(ctx, other.AccessToken); err != nil {
			t.Errorf("Verify(other token of the user) = %v; want nil", err)
		}
		if err := a.Revoke(ctx, &Claims{}); !errors.Is(err, ErrMissingClaim) {
			t.Errorf("Revoke(no jti) = %v; want ErrMissingClaim", err)
		}
	})

	t.Run("revoke all of a user", func(t *testing.T) {
		set, _ := a.Issue(ctx, userClaims("u7"))
		bystander, _ := a.Issue(ctx, userClaims("u8"))
		clk.Add(time.Second)
		if err := a.RevokeAll(ctx, "u7"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(ctx, set.AccessToken); !errors.Is(err, ErrRevoked) {
			t.Errorf("Verify(after RevokeAll) = %v; want ErrRevoked", err)
		}
		if _, err := a.Refresh(ctx, set.RefreshToken, loadUser()); !errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("Refresh(after RevokeAll) = %v; want ErrRefreshInvalid", err)
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

func TestRefreshFlowMemory(t *testing.T) { testRefreshFlow(t, NewMemoryStore()) }

func TestRefreshFlowRedis(t *testing.T) {
	s, _ := newTestRedisStore(t)
	testRefreshFlow(t, s)
}

// brokenDenylist fails only on Revoked, after the rotation succeeded.
type brokenDenylist struct{ *MemoryStore }

func (brokenDenylist) Revoked(context.Context, string, string, time.Time) (bool, error) {
	return false, errStoreDown
}

func TestRefreshStoreFailures(t *testing.T) {
	ctx := context.Background()
	mem := NewMemoryStore()
	a, _ := newTestAuth(t, WithRefreshStore(mem), WithDenylist(brokenDenylist{mem}))
	set, err := a.Issue(ctx, userClaims("u1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(ctx, set.RefreshToken, loadUser()); !errors.Is(err, errStoreDown) {
		t.Errorf("Refresh(denylist down) = %v; want the store error", err)
	}
	down, _ := newTestAuth(t, WithRefreshStore(failingRefreshStore{}))
	if _, err := down.Issue(ctx, userClaims("u1")); !errors.Is(err, errStoreDown) {
		t.Errorf("Issue(store down) = %v; want the store error", err)
	}
}

type failingRefreshStore struct{}

func (failingRefreshStore) CreateRefresh(context.Context, RefreshToken) error { return errStoreDown }
func (failingRefreshStore) RotateRefresh(context.Context, string, RefreshToken) (RefreshToken, error) {
	return RefreshToken{}, errStoreDown
}
func (failingRefreshStore) RevokeFamily(context.Context, string) error { return errStoreDown }
