package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/password"
)

// The login, refresh and logout endpoints of an API whose clients send
// bearer tokens. The caller supplies the account lookup and the password
// check; a lockout such as covet's ratelimit/lockout goes into
// password.NewLogin in place of nil.
func ExampleAuth_LoginHandler() {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	store, _ := jwtauth.NewMemoryStore()
	auth, err := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithoutCookies(),
		jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store))
	if err != nil {
		panic(err)
	}

	// The user table: one account.
	hasher, _ := password.NewHasher()
	stored, _ := hasher.Hash("correct horse battery staple")
	lookup := func(_ context.Context, account string) (string, string, error) {
		if account != "ada" {
			return "", "", password.ErrUnknownAccount
		}
		return "user-1", stored, nil
	}
	login, _ := password.NewLogin(hasher, lookup, nil)

	check := func(ctx context.Context, username, pw string) (jwtauth.Claims, error) {
		id, _, err := login.Authenticate(ctx, username, pw)
		if errors.Is(err, password.ErrInvalidCredentials) {
			return jwtauth.Claims{}, jwtauth.ErrInvalidCredentials
		}
		if err != nil {
			return jwtauth.Claims{}, err // a *password.LockedError is answered 429
		}
		c := jwtauth.Claims{Username: username, Roles: []string{"user"}}
		c.Subject = id
		return c, nil
	}
	load := func(_ context.Context, subject string) (jwtauth.Claims, error) {
		c := jwtauth.Claims{Roles: []string{"user"}}
		c.Subject = subject
		return c, nil
	}
	loginH, _ := auth.LoginHandler(check)
	refreshH, _ := auth.RefreshHandler(load)
	logoutH, _ := auth.LogoutHandler()
	mux := http.NewServeMux()
	mux.Handle("POST /auth/login", loginH)
	mux.Handle("POST /auth/refresh", refreshH)
	mux.Handle("POST /auth/logout", logoutH)

	post := func(path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	w := post("/auth/login", `{"username":"ada","password":"wrong"}`)
	fmt.Println("wrong password:", w.Code, w.Header().Get("WWW-Authenticate"))
	w = post("/auth/login", `{"username":"ada","password":"correct horse battery staple"}`)
	var set jwtauth.TokenSet
	_ = json.Unmarshal(w.Body.Bytes(), &set)
	fmt.Println("login:", w.Code, w.Header().Get("Cache-Control"))

	w = post("/auth/refresh", `{"refresh_token":"`+set.RefreshToken+`"}`)
	fmt.Println("refresh:", w.Code)
	w = post("/auth/refresh", `{"refresh_token":"`+set.RefreshToken+`"}`)
	fmt.Println("reused:", w.Code, w.Header().Get("WWW-Authenticate"))

	w = post("/auth/login", `{"username":"ada","password":"correct horse battery staple"}`)
	_ = json.Unmarshal(w.Body.Bytes(), &set)
	w = post("/auth/logout", `{"refresh_token":"`+set.RefreshToken+`"}`)
	fmt.Println("logout:", w.Code)
	w = post("/auth/refresh", `{"refresh_token":"`+set.RefreshToken+`"}`)
	fmt.Println("refresh after logout:", w.Code)
	// Output:
	// wrong password: 401 Bearer
	// login: 200 no-store
	// refresh: 200
	// reused: 401 Bearer error="invalid_token"
	// logout: 204
	// refresh after logout: 401
}

// A test that moves the clock instead of sleeping: the token expires the
// moment the clock passes its lifetime.
func ExampleWithClock() {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	auth, _ := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithClock(clock), jwtauth.WithLeeway(0))

	c := jwtauth.Claims{}
	c.Subject = "user-1"
	set, _ := auth.Issue(context.Background(), c)
	_, err := auth.Verify(context.Background(), set.AccessToken)
	fmt.Println("fresh:", err)

	now = now.Add(15 * time.Minute)
	_, err = auth.Verify(context.Background(), set.AccessToken)
	fmt.Println("15 minutes later:", errors.Is(err, jwtauth.ErrTokenInvalid))
	// Output:
	// fresh: <nil>
	// 15 minutes later: true
}
