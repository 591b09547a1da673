package jwtauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
)

// csrfBinding is what an access token carries for its CSRF token: the
// base64url SHA-256, so a token that leaks (in a log, say) does not also
// leak the value a forged request would need.
func csrfBinding(csrf string) string {
	sum := sha256.Sum256([]byte(csrf))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkCSRF guards a cookie-authenticated request: a cross-origin browser
// request is refused (Sec-Fetch-Site, then Origin against Host, as
// http.CrossOriginProtection does), and an unsafe method must send
// X-CSRF-Token matching the binding in the token. This is the signed double
// submit pattern: the binding sits inside a token only the server can sign,
// so an attacker who can plant cookies still cannot forge a matching pair.
func (a *Auth[C, P]) checkCSRF(r *http.Request, c *Claims) error {
	if err := a.CheckOrigin(r); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	sent := r.Header.Get(CSRFHeader)
	if sent == "" || len(sent) > 128 || c.CSRF == "" {
		return ErrCSRF
	}
	sum := sha256.Sum256([]byte(sent))
	var got [43]byte
	base64.RawURLEncoding.Encode(got[:], sum[:])
	if subtle.ConstantTimeCompare(got[:], []byte(c.CSRF)) != 1 {
		return ErrCSRF
	}
	return nil
}

// CheckOrigin refuses a cross-origin browser request with an unsafe method,
// returning an error wrapping [ErrCSRF], as the middleware does for
// cookie-authenticated requests; trusted origins from [WithTrustedOrigins]
// pass. Call it in endpoints authenticated by the refresh cookie (refresh,
// logout), which the middleware does not guard.
func (a *Auth[C, P]) CheckOrigin(r *http.Request) error {
	if err := a.cop.Check(r); err != nil {
		return fmt.Errorf("%w: %w", ErrCSRF, err)
	}
	return nil
}
