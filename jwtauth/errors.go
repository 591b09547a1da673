package jwtauth

import (
	"errors"
	"fmt"
)

// Token errors. Every reason to refuse an access token wraps [ErrTokenInvalid],
// so callers can branch on the family first and on the reason second. The
// errors of golang-jwt (jwt.ErrTokenExpired, jwt.ErrTokenInvalidAudience, …)
// are wrapped as well and can be matched with errors.Is.
var (
	// ErrNoToken means the request carried neither a bearer token nor an
	// access cookie.
	ErrNoToken = errors.New("jwtauth: no token")
	// ErrInvalidConfig is wrapped by every constructor error caused by a bad
	// argument or option.
	ErrInvalidConfig = errors.New("jwtauth: invalid configuration")
	// ErrTokenInvalid is wrapped by every reason an access token is refused.
	ErrTokenInvalid = errors.New("jwtauth: invalid token")
	// ErrTokenTooLarge means the token exceeded the size cap and was not parsed.
	ErrTokenTooLarge = errors.New("jwtauth: token too large")
	// ErrUnknownKey means the kid header is missing or names no key in the ring.
	ErrUnknownKey = errors.New("jwtauth: unknown key id")
	// ErrAlgorithmMismatch means the token's alg differs from the algorithm
	// pinned to the key its kid names (algorithm confusion).
	ErrAlgorithmMismatch = errors.New("jwtauth: algorithm does not match key")
	// ErrForbiddenHeader means the token carries a header that would let it
	// choose its own key (jku, jwk, x5u, x5c) or a crit extension.
	ErrForbiddenHeader = errors.New("jwtauth: forbidden token header")
	// ErrWrongTokenType means the typ claim is not "access".
	ErrWrongTokenType = errors.New("jwtauth: wrong token type")
	// ErrMissingClaim means a claim every access token carries (sub, jti,
	// iat) is absent.
	ErrMissingClaim = errors.New("jwtauth: missing claim")
	// ErrRevoked means the token's jti is on the denylist or the token was
	// issued before its subject's "not before" time.
	ErrRevoked = errors.New("jwtauth: token revoked")
)

// Refresh errors.
var (
	// ErrRefreshInvalid means the refresh token is malformed, unknown, expired
	// or belongs to a revoked family.
	ErrRefreshInvalid = errors.New("jwtauth: invalid refresh token")
	// ErrRefreshReused means a refresh token was presented a second time; the
	// whole family has been revoked. It wraps [ErrRefreshInvalid].
	ErrRefreshReused = fmt.Errorf("%w: reused, family revoked", ErrRefreshInvalid)
	// ErrNoRefreshStore means a refresh operation was asked of an [Auth]
	// built without [WithRefreshStore].
	ErrNoRefreshStore = errors.New("jwtauth: no refresh store configured")
)

// ErrStoreUnavailable is matched (errors.Is) by the errors of a refresh
// store or denylist that could not answer: its backend failed, did not
// answer in time or its circuit breaker is open (the Store of
// [github.com/covetgo/covet/jwtauth/redisstore] wraps it). The middleware
// and the login, refresh and logout handlers answer it with 503 and
// Retry-After, as callers of [Auth.Refresh] should: the request may succeed
// later, so it is never a 401 or a 500.
var ErrStoreUnavailable = errors.New("jwtauth: store unavailable")

// Errors of the login, refresh and logout handlers.
var (
	// ErrInvalidCredentials is what a [CheckFunc] returns (wrapped or not)
	// for an unknown account or a wrong password; the login handler answers
	// it with 401.
	ErrInvalidCredentials = errors.New("jwtauth: invalid credentials")
	// ErrBadRequest is wrapped by every refusal of a request body: not
	// application/json, too large, not one JSON object of the expected
	// string members, or a required member missing or too long.
	ErrBadRequest = errors.New("jwtauth: bad request")
)

// Request errors raised by the middleware after a token was accepted.
var (
	// ErrCSRF means a cookie-authenticated unsafe request failed the CSRF
	// checks (cross-origin, or X-CSRF-Token missing or not matching).
	ErrCSRF = errors.New("jwtauth: csrf check failed")
	// ErrForbidden means the token is valid but lacks a required role.
	ErrForbidden = errors.New("jwtauth: insufficient role")
)
