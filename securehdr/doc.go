// Package securehdr sets the HTTP security headers a production service
// needs, with safe defaults switched on, and provides the middlewares that
// go with them: a forced HTTPS redirect, an allowed-hosts check, CORS and
// a no-store helper. Each is a func(http.Handler) http.Handler (through a
// Handler method) usable with chi or the standard [net/http.ServeMux].
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
// [Config.Override] replaces or removes any of them. The header values are
// computed once, at construction; a request costs one allocation of the
// middleware's own, plus the nonce when the policy uses one.
//
// # Content Security Policy
//
// [CSP] builds a policy from typed [Directive] names. [New] validates it as
// a whole: unknown directives, unquoted keywords such as self, sources
// holding ';' or ',', static nonces and 'strict-dynamic' without a nonce or
// hash are errors wrapping [ErrInvalidCSP]. [CSP.WithNonce] adds a fresh
// nonce of 16 random bytes to every response; templates read it with
// [NonceFromContext]. [CSP.ReportOnly] and [CSP.ReportTo] set up reporting,
// including the Reporting-Endpoints header.
//
// # HTTPS and proxies
//
// HSTS is sent only when the request arrived over HTTPS: a TLS connection,
// or X-Forwarded-Proto: https from a peer listed in TrustedProxies. The
// same rule drives [Redirect], which answers plain-HTTP requests with 308
// Permanent Redirect (method and body kept) except on exempt paths such as
// health probes. X-Forwarded-* headers from any other peer are ignored.
//
// # Hosts and CORS
//
// [AllowedHosts] compares the normalised Host ([NormalizeHost]) with a list
// and answers 400 with an application/problem+json body (RFC 9457)
// otherwise. [NewCORS] wraps [github.com/rs/cors] and refuses, at
// construction, configurations that would leak credentialed responses
// ([ErrInsecureCORS]); preflights are cached for two hours by default.
//
// # Caching
//
// [NoStore] and [SetNoStore] mark authenticated responses as not to be
// stored by any cache.
package securehdr
