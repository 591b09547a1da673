package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/covetgo/covet/jwtauth"
)

// secret stands in for 32 random bytes from a secret store.
var secret = []byte("example-secret-example-secret-32")

func Example() {
	key, err := jwtauth.HS256Key("2026-11", secret)
	if err != nil {
		panic(err)
	}
	ring, err := jwtauth.NewKeyRing(key)
	if err != nil {
		panic(err)
	}
	store, err := jwtauth.NewMemoryStore()
	if err != nil {
		panic(err)
	}
	auth, err := jwtauth.New[jwtauth.Claims](ring,
		jwtauth.WithIssuer("https://auth.example.com"),
		jwtauth.WithAudience("api"),
		jwtauth.WithRefreshStore(store),
		jwtauth.WithDenylist(store),
	)
	if err != nil {
		panic(err)
	}

	// After a successful login:
	claims := jwtauth.Claims{Username: "ada", Roles: []string{"admin"}}
	claims.Subject = "user-1"
	set, err := auth.Issue(context.Background(), claims)
	if err != nil {
		panic(err)
	}
	fmt.Println(set.TokenType, set.ExpiresIn)

	mux := http.NewServeMux()
	mux.Handle("GET /me", auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtauth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", c.Username)
	})))

	for _, token := range []string{set.AccessToken, "forged"} {
		r := httptest.NewRequest("GET", "/me", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body)
		} else {
			fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// Bearer 900
	// 200 hello ada
	// 401 Bearer error="invalid_token"
}

func ExampleAuth_Refresh() {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	store, _ := jwtauth.NewMemoryStore()
	auth, _ := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithRefreshStore(store))
	ctx := context.Background()

	claims := jwtauth.Claims{}
	claims.Subject = "user-1"
	first, _ := auth.Issue(ctx, claims)

	// load rebuilds the claims from the user record, so role changes apply.
	load := func(_ context.Context, subject string) (jwtauth.Claims, error) {
		c := jwtauth.Claims{Roles: []string{"user"}}
		c.Subject = subject
		return c, nil
	}
	second, err := auth.Refresh(ctx, first.RefreshToken, load)
	fmt.Println("rotated:", err == nil)

	// The old token again: theft is assumed and the family is revoked.
	_, err = auth.Refresh(ctx, first.RefreshToken, load)
	fmt.Println("reuse detected:", errors.Is(err, jwtauth.ErrRefreshReused))
	_, err = auth.Refresh(ctx, second.RefreshToken, load)
	fmt.Println("family revoked:", errors.Is(err, jwtauth.ErrRefreshInvalid))
	// Output:
	// rotated: true
	// reuse detected: true
	// family revoked: true
}

func ExampleNewKeyRing() {
	oldKey, _ := jwtauth.HS256Key("2026-10", []byte("old-secret-old-secret-old-secret"))
	newKey, _ := jwtauth.HS256Key("2026-11", secret)

	// Sign with the new key, still accept tokens signed with the old one.
	ring, _ := jwtauth.NewKeyRing(newKey, oldKey)
	fmt.Println(ring.CurrentID())

	_, err := jwtauth.HS256Key("short", []byte("too short"))
	fmt.Println(err != nil)
	// Output:
	// 2026-11
	// true
}

type tenantClaims struct {
	jwtauth.Claims
	Tenant string `json:"tenant"`
}

func ExampleCustomClaimsFromContext() {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	auth, _ := jwtauth.New[tenantClaims](ring, jwtauth.WithoutCookies())

	c := tenantClaims{Tenant: "acme"}
	c.Subject = "user-1"
	set, _ := auth.Issue(context.Background(), c)
	token := set.AccessToken

	h := auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tc, _ := jwtauth.CustomClaimsFromContext[tenantClaims](r.Context())
		fmt.Println(tc.Subject, tc.Tenant)
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output: user-1 acme
}

func ExampleAuth_RequireRole() {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	auth, _ := jwtauth.New[jwtauth.Claims](ring)

	admin := auth.Handler(auth.RequireRole("admin")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	for _, roles := range [][]string{{"admin"}, {"user"}} {
		c := jwtauth.Claims{Roles: roles}
		c.Subject = "user-1"
		set, _ := auth.Issue(context.Background(), c)
		token := set.AccessToken
		r := httptest.NewRequest("DELETE", "/users/2", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, r)
		fmt.Println(roles, w.Code)
	}
	// Output:
	// [admin] 200
	// [user] 403
}

func ExampleAuth_SetCookies() {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	store, _ := jwtauth.NewMemoryStore()
	auth, _ := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithRefreshStore(store))
	c := jwtauth.Claims{}
	c.Subject = "user-1"
	set, _ := auth.Issue(context.Background(), c)

	w := httptest.NewRecorder()
	auth.SetCookies(w, set)
	for _, ck := range w.Result().Cookies() {
		fmt.Println(ck.Name, ck.HttpOnly, ck.Secure, ck.SameSite == http.SameSiteStrictMode)
	}
	// Output:
	// __Host-access true true false
	// __Host-refresh true true true
	// __Host-csrf false true true
}

// A refresh endpoint for browser clients: the refresh token arrives in its
// cookie, so the endpoint checks the origin itself.
func ExampleAuth_RefreshTokenFromCookie() {
	key, _ := jwtauth.HS256Key("k1", secret)
	ring, _ := jwtauth.NewKeyRing(key)
	store, _ := jwtauth.NewMemoryStore()
	auth, _ := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithRefreshStore(store))
	load := func(_ context.Context, subject string) (jwtauth.Claims, error) {
		c := jwtauth.Claims{}
		c.Subject = subject
		return c, nil
	}
	refresh := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := auth.CheckOrigin(r); err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		set, err := auth.Refresh(r.Context(), auth.RefreshTokenFromCookie(r), load)
		if err != nil {
			auth.ClearCookies(w)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		auth.SetCookies(w, set)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})

	c := jwtauth.Claims{}
	c.Subject = "user-1"
	login, _ := auth.Issue(context.Background(), c)
	for _, site := range []string{"same-origin", "cross-site"} {
		r := httptest.NewRequest("POST", "/auth/refresh", nil)
		r.AddCookie(&http.Cookie{Name: "__Host-refresh", Value: login.RefreshToken})
		r.Header.Set("Sec-Fetch-Site", site)
		w := httptest.NewRecorder()
		refresh.ServeHTTP(w, r)
		fmt.Println(site, w.Code)
	}
	// Output:
	// same-origin 200
	// cross-site 403
}
