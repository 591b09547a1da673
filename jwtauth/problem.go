package jwtauth

import (
	"errors"
	"net/http"
	"time"

	"github.com/covetgo/covet/problem"
)

// Problem bodies (RFC 9457) are fixed strings: they name the problem and
// never why a token failed, which would help an attacker tune forgeries.
var (
	problemUnauthorized = problem.Body(http.StatusUnauthorized, "", "A valid access token is required.")
	problemCSRF         = problem.Body(http.StatusForbidden, "", "The request failed cross-site request forgery checks.")
	problemForbidden    = problem.Body(http.StatusForbidden, "", "The access token does not permit this request.")
	problemUnavailable  = problem.Body(http.StatusServiceUnavailable, "", "Authentication is temporarily unavailable.")
	problemCredentials  = problem.Body(http.StatusUnauthorized, "", "The username or password is incorrect.")
	problemRefresh      = problem.Body(http.StatusUnauthorized, "", "The refresh token is not valid; sign in again.")
	problemLocked       = problem.Body(http.StatusTooManyRequests, "", "Too many failed sign-ins for this account; try again later.")
	problemBadRequest   = problem.Body(http.StatusBadRequest, "", "The request body must be one JSON object with the expected string members.")
	problemMediaType    = problem.Body(http.StatusUnsupportedMediaType, "", "The request body must be application/json.")
	problemTooLarge     = problem.Body(http.StatusRequestEntityTooLarge, "", "The request body is too large.")
)

// writeError is the default error handler: 401 with WWW-Authenticate for a
// missing or bad token (RFC 6750 §3: no error code when no token was sent)
// and for wrong credentials, 403 for CSRF and roles, 400, 413 or 415 for a
// bad request body, 429 for a locked account, 503 when a store or anything
// else failed.
func writeError(w http.ResponseWriter, _ *http.Request, err error) {
	h := w.Header()
	var status int
	var body []byte
	var locked LockedOut
	switch {
	case errors.Is(err, errMediaType):
		status, body = http.StatusUnsupportedMediaType, problemMediaType
	case errors.Is(err, errTooLarge):
		status, body = http.StatusRequestEntityTooLarge, problemTooLarge
	case errors.Is(err, ErrBadRequest):
		status, body = http.StatusBadRequest, problemBadRequest
	case errors.Is(err, ErrInvalidCredentials):
		h.Set("WWW-Authenticate", `Bearer`)
		status, body = http.StatusUnauthorized, problemCredentials
	case errors.As(err, &locked):
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", retryAfter(time.Until(locked.LockedUntil())))
		}
		status, body = http.StatusTooManyRequests, problemLocked
	case errors.Is(err, ErrRefreshInvalid):
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		status, body = http.StatusUnauthorized, problemRefresh
	case errors.Is(err, ErrNoToken):
		h.Set("WWW-Authenticate", `Bearer`)
		status, body = http.StatusUnauthorized, problemUnauthorized
	case errors.Is(err, ErrTokenInvalid):
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		status, body = http.StatusUnauthorized, problemUnauthorized
	case errors.Is(err, ErrCSRF):
		status, body = http.StatusForbidden, problemCSRF
	case errors.Is(err, ErrForbidden):
		h.Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		status, body = http.StatusForbidden, problemForbidden
	default:
		h.Set("Retry-After", "1")
		status, body = http.StatusServiceUnavailable, problemUnavailable
	}
	problem.Write(w, status, body)
}
