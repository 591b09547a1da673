package jwtauth

import (
	"context"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// typeAccess is the typ claim of every access token this package issues; a
// token with any other typ is refused as an access token.
const typeAccess = "access"

// Claims are the claims of an access token: the registered ones (RFC 7519
// §4.1) plus a username, roles, the CSRF binding and the token type. Times
// are whole Unix seconds and the audience is a JSON array, as this package
// issues them; plain fields, rather than jwt.RegisteredClaims' NumericDate
// and ClaimStrings, decode without a nested JSON pass per claim, which is
// most of the cost of verifying a token. Tokens with fractional times or a
// single-string aud are refused as malformed.
//
// Add your own claims by embedding Claims in a struct and building the
// [Auth] with that struct as its type parameter:
//
//	type MyClaims struct {
//		jwtauth.Claims
//		Tenant string `json:"tenant"`
//	}
//	auth, err := jwtauth.New[MyClaims](ring)
type Claims struct {
	// Subject identifies the user; required.
	Subject string `json:"sub,omitempty"`
	// Issuer, Audience, ExpiresAt, IssuedAt, NotBefore and ID (jti) are set
	// by the package when it signs.
	Issuer    string   `json:"iss,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	ID        string   `json:"jti,omitempty"`
	// Username is a display name; authorisation uses Subject.
	Username string `json:"username,omitempty"`
	// Roles are checked by [Auth.RequireRole]; a handler checks one with
	// slices.Contains(c.Roles, role).
	Roles []string `json:"roles,omitempty"`
	// CSRF is the SHA-256 of the CSRF token issued with the access token
	// (base64url); set by the package.
	CSRF string `json:"csrf,omitempty"`
	// Type is the typ claim; set by the package to "access".
	Type string `json:"typ"`
}

func numericDate(s int64) *jwt.NumericDate {
	if s == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(s, 0))
}

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.ExpiresAt), nil }

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return numericDate(c.IssuedAt), nil }

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return numericDate(c.NotBefore), nil }

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return c.Audience, nil }

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
