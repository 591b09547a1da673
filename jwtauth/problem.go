package jwtauth

import (
	"errors"
	"net/http"

	"github.com/covetgo/covet/problem"
)

// Problem bodies (RFC 9457) are fixed strings: they name the problem and
// never why a token failed, which would help an attacker tune forgeries.
var (
	problemUnauthorized = problem.Body(http.StatusUnauthorized, "", "A valid access token is required.")
	problemCSRF         = problem.Body(http.StatusForbidden, "", "The request failed cross-site request forgery checks.")
	problemForbidden    = problem.Body(http.StatusForbidden, "", "The access token does not permit this request.")
	problemUnavailable  = problem.Body(http.StatusServiceUnavailable, "", "Authentication is temporarily unavailable.")
)

// writeError is the default error handler: 401 with WWW-Authenticate for a
// missing or bad token (RFC 6750 §3: no error code when no token was sent),
// 403 for CSRF and roles, 503 when a store failed.
func writeError(w http.ResponseWriter, _ *http.Request, err error) {
	h := w.Header()
	var status int
	var body []byte
	switch {
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
