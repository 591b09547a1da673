package jwtauth

import (
	"net/http"
)

// SetCookies sets the access, refresh and CSRF cookies from set. All are
// Secure; the access and refresh cookies are HttpOnly, so script cannot read
// them; the CSRF cookie is readable by the page's script, which copies it
// into X-CSRF-Token. The access cookie is SameSite=Lax (top-level
// navigation stays signed in), the others SameSite=Strict. A set without a
// refresh token sets no refresh cookie, and its CSRF cookie lives as long as
// the access token.
func (a *Auth[C, P]) SetCookies(w http.ResponseWriter, set TokenSet) {
	a.setCookie(w, a.cfg.accessCookie, set.AccessToken, "/", set.ExpiresIn, true, http.SameSiteLaxMode)
	csrfAge := set.ExpiresIn
	if set.RefreshToken != "" {
		a.setCookie(w, a.cfg.refreshCookie, set.RefreshToken, a.cfg.refreshPath, set.RefreshExpiresIn, true, http.SameSiteStrictMode)
		csrfAge = set.RefreshExpiresIn
	}
	a.setCookie(w, a.cfg.csrfCookie, set.CSRFToken, "/", csrfAge, false, http.SameSiteStrictMode)
}

// ClearCookies expires the three cookies, for logout.
func (a *Auth[C, P]) ClearCookies(w http.ResponseWriter) {
	a.setCookie(w, a.cfg.accessCookie, "", "/", -1, true, http.SameSiteLaxMode)
	a.setCookie(w, a.cfg.refreshCookie, "", a.cfg.refreshPath, -1, true, http.SameSiteStrictMode)
	a.setCookie(w, a.cfg.csrfCookie, "", "/", -1, false, http.SameSiteStrictMode)
}

// RefreshTokenFromCookie returns the refresh cookie's value, or "".
func (a *Auth[C, P]) RefreshTokenFromCookie(r *http.Request) string {
	c, err := r.Cookie(a.cfg.refreshCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

func (a *Auth[C, P]) setCookie(w http.ResponseWriter, name, value, path string, maxAge int, httpOnly bool, same http.SameSite) {
	if a.cfg.noCookies {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		Secure:   true,
		HttpOnly: httpOnly,
		SameSite: same,
	})
}
