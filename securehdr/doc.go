// Package securehdr sets the HTTP security headers a production service
// needs, with safe defaults switched on, and guards the service's edge: an
// allowed-hosts check and a forced HTTPS redirect in the same middleware,
// CORS, and a no-store helper. Each middleware is a Handler method (or a
// func(http.Handler) http.Handler) usable with chi or the standard
// [net/http.ServeMux].
//
// # Headers
//
// [New] returns a middleware that sets, before calling the next handler so
// that error responses carry them too:
//
//	Content-Security-Policy: default-src 'self'; base-uri 'self'; object-src 'none';
//	    frame-ancestors 'none'; form-action 'self'; img-src 'self' data:; script-src-attr 'none'
//	X-Frame-Options: DENY
//	X-Content-Type-Options: nosniff
//	Referrer-Policy: strict-origin-when-cross-origin
//	Permissions-Policy: camera=(), microphone=(), geolocation=(), payment=(), usb=()
//	Cross-Origin-Opener-Policy: same-origin
//	Cross-Origin-Resource-Policy: same-origin
//	X-XSS-Protection: 0
//	X-Permitted-Cross-Domain-Policies: none
//	Strict-Transport-Security: max-age=31536000; includeSubDomains   (HTTPS only)
//
// [Config.Override] changes a value or adds a header; [Config.Omit] stops
// sending a default one, the policy and HSTS included. The header values
// are computed once, at construction; a request costs one allocation of
// the middleware's own, plus the nonce when the policy uses one.
//
// # Content Security Policy
//
// [CSP] builds a policy from directive names as the specification spells
// them and [Source] values; its zero value is an empty policy and
// [DefaultCSP] the default one. [New] validates the policy as a whole:
// unknown directives, unquoted keywords such as self, sources holding ';'
// or ',', static nonces and 'strict-dynamic' without a nonce or hash are
// errors wrapping [ErrInvalidCSP]. [CSP.WithNonce] adds a fresh nonce of 16
// random bytes to every response; templates read it with
// [NonceFromContext]. [CSP.ReportOnly] and [CSP.ReportTo] set up reporting,
// including the Reporting-Endpoints header.
//
// # Proxies, hosts and HTTPS
//
// [Config.TrustedProxies] is the one place the package learns which peers
// may speak for the client: X-Forwarded-Proto and X-Forwarded-Host are
// believed from those peers only, and ignored from any other. Every
// decision uses the same rule. HSTS is sent only when the request arrived
// over HTTPS (a TLS connection, or X-Forwarded-Proto: https from a trusted
// proxy). [Config.AllowedHosts] compares the normalised host
// ([NormalizeHost]) with a list and answers 400 with an
// application/problem+json body (RFC 9457) otherwise.
// [Config.RedirectHTTPS] answers plain-HTTP requests with 308 Permanent
// Redirect (method and body kept). The host is checked before a redirect
// is built, so a redirect never points at a host the service does not
// own; [Config.ExemptPaths] lets health probes through both.
//
// # CORS
//
// [NewCORS] wraps [github.com/rs/cors] and refuses, at construction,
// configurations that would leak credentialed responses
// ([ErrInsecureCORS]); preflights are cached for two hours by default.
//
// # Caching
//
// [NoStore] and [SetNoStore] mark authenticated responses as not to be
// stored by any cache.
package securehdr
