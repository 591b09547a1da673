package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

func loadUser(roles ...string) func(context.Context, string) (Claims, error) {
	return func(_ context.Context, subject string) (Claims, error) {
		return userClaims(subject, roles...), nil
	}
}

func TestIssueTokenSet(t *testing.T) {
	a, _ := newTestAuth(t, WithRefreshStore(newMemoryStore(t)))
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

// brokenDenylist fails only on Revoked, after the rotation succeeded.
type brokenDenylist struct{ *MemoryStore }

func (brokenDenylist) Revoked(context.Context, string, string, time.Time) (bool, error) {
	return false, errStoreDown
}

func TestRefreshStoreFailures(t *testing.T) {
	ctx := context.Background()
	mem := newMemoryStore(t)
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
