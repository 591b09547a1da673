package securehdr

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/covetgo/covet/problem"
)

// ErrInvalidConfig reports a setting that cannot work: a malformed header
// name or value, CIDR, path or host, or a setting that does not apply
// (RedirectHost without RedirectHTTPS, an ErrorHandler with neither a host
// check nor a redirect, HSTS settings with HSTS omitted). Every error of
// [New] and [NewCORS] matches it; the errors below narrow it down. Wrapped
// errors name the offending setting; branch on them with [errors.Is].
var ErrInvalidConfig = errors.New("securehdr: invalid configuration")

var (
	// ErrInvalidCSP reports a Content-Security-Policy that does not validate:
	// an unknown directive, an unquoted keyword such as self, a source holding
	// ';' or ',', or a static nonce. It wraps [ErrInvalidConfig].
	ErrInvalidCSP = fmt.Errorf("%w: content security policy", ErrInvalidConfig)
	// ErrInsecureCORS reports a CORS configuration that browsers would either
	// reject or that would expose credentialed responses to any origin, such
	// as credentials together with a wildcard or pattern origin. It wraps
	// [ErrInvalidConfig].
	ErrInsecureCORS = fmt.Errorf("%w: insecure cors", ErrInvalidConfig)
)

// ErrHostNotAllowed is passed to an [ErrorHandler] when a request's host is
// not in [Config.AllowedHosts], or is not valid enough to build the HTTPS
// redirect.
var ErrHostNotAllowed = errors.New("securehdr: host not allowed")

// ErrorHandler writes the response for a request that a middleware refuses.
// It must not echo untrusted request data into the body.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// problemHostNotAllowed is an RFC 9457 body: it names the problem but never
// echoes the offending host back.
var problemHostNotAllowed = problem.Body(http.StatusBadRequest, "", "The request's host is not served here.")

// DefaultErrorHandler answers 400 Bad Request with an application/problem+json
// body (RFC 9457) for [ErrHostNotAllowed] and for any other error. The body
// does not repeat the request's host.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, _ error) {
	problem.Write(w, http.StatusBadRequest, problemHostNotAllowed)
}
