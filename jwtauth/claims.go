package jwtauth

import (
	"context"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// TypeAccess is the typ claim of every access token this package issues; a
// token with any other typ is refused as an access token.
const TypeAccess = "access"

// Claims are the claims of an access token: the registered ones (sub, iss,
// aud, exp, iat, jti) plus a username, roles, the CSRF binding and the token
// type. Add your own claims by embedding Claims in a struct and building the
// [Auth] with that struct as its type parameter:
//
//	type MyClaims struct {
//		jwtauth.Claims
//		Tenant string `json:"tenant"`
//	}
//	auth, err := jwtauth.New[MyClaims](ring)
type Claims struct {
	jwt.RegisteredClaims
	// Username is a display name; authorisation uses Subject.
	Username string `json:"username,omitempty"`
	// Roles are checked by [Auth.RequireRole].
	Roles []string `json:"roles,omitempty"`
	// CSRF is the SHA-256 of the CSRF token issued with the access token
	// (base64url); set by the package.
	CSRF string `json:"csrf,omitempty"`
	// Type is the typ claim; set by the package to [TypeAccess].
	Type string `json:"typ"`
}

// HasRole reports whether the claims list role.
func (c *Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// base gives the package the embedded Claims of any custom claims type.
func (c *Claims) base() *Claims { return c }

// ClaimsPointer is the constraint on the second type parameter of [Auth]: a
// pointer to a struct that is, or embeds, [Claims]. It is inferred; write
// jwtauth.New[MyClaims](…).
type ClaimsPointer[C any] interface {
	*C
	jwt.Claims
	base() *Claims
}

type claimsKey struct{}

type baser interface{ base() *Claims }

// WithClaims returns a copy of ctx carrying claims, a pointer to [Claims] or
// to a struct embedding it. The middleware calls it; tests of handlers can too.
func WithClaims[C any, P ClaimsPointer[C]](ctx context.Context, claims P) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// ClaimsFromContext returns the [Claims] the middleware verified, whatever
// custom type embeds them, or false on an anonymous request.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	b, ok := ctx.Value(claimsKey{}).(baser)
	if !ok {
		return nil, false
	}
	return b.base(), true
}

// CustomClaimsFromContext returns the claims the middleware verified as the
// custom type C the [Auth] was built with, or false when there are none or
// they are of another type.
func CustomClaimsFromContext[C any](ctx context.Context) (*C, bool) {
	c, ok := ctx.Value(claimsKey{}).(*C)
	return c, ok
}
