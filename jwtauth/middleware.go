package jwtauth

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Handler requires a valid access token, from Authorization: Bearer or,
// failing that, the access cookie, and puts its claims in the request
// context ([ClaimsFromContext]). A cookie-authenticated request also passes
// the CSRF checks. Refusals go to the error handler: by default 401 with
// WWW-Authenticate and a problem body that never says why.
func (a *Auth[C, P]) Handler(next http.Handler) http.Handler {
	return a.wrap(next, false)
}

// Optional is [Auth.Handler] for routes that also serve anonymous users:
// a request without a token passes with no claims in its context. A request
// with a bad token is still refused, so a client learns its token is no
// longer good.
func (a *Auth[C, P]) Optional(next http.Handler) http.Handler {
	return a.wrap(next, true)
}

func (a *Auth[C, P]) wrap(next http.Handler, optional bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, fromCookie := a.tokenFrom(r)
		if token == "" && !fromCookie {
			if optional {
				next.ServeHTTP(w, r)
				return
			}
			a.cfg.errorHandler(w, r, ErrNoToken)
			return
		}
		ctx := r.Context()
		cc := &claimsContext[C, P]{Context: ctx}
		p := P(&cc.claims)
		if err := a.verifyInto(ctx, token, p); err != nil {
			a.cfg.errorHandler(w, r, err)
			return
		}
		if fromCookie {
			if err := a.checkCSRF(r, p.base()); err != nil {
				a.cfg.errorHandler(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(cc))
	})
}

// claimsContext carries the verified claims in the same allocation as the
// context that holds them; it answers the lookups of [ClaimsFromContext] and
// [CustomClaimsFromContext] as [WithClaims] would.
type claimsContext[C any, P ClaimsPointer[C]] struct {
	context.Context
	claims C
}

func (c *claimsContext[C, P]) Value(key any) any {
	if key == (claimsKey{}) {
		return P(&c.claims)
	}
	return c.Context.Value(key)
}

// tokenFrom returns the bearer token, else the access cookie's value. A
// request with neither returns "", false; an empty but present credential
// returns "", true so that it is refused rather than treated as anonymous.
func (a *Auth[C, P]) tokenFrom(r *http.Request) (token string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			rest = strings.TrimSpace(rest)
			if rest == "" {
				rest = " " // present but empty: refused as invalid
			}
			return rest, false
		}
	}
	if a.cfg.noCookies {
		return "", false
	}
	c, err := r.Cookie(a.cfg.accessCookie)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// RequireRole returns middleware, placed after [Auth.Handler], that lets
// a request through only if its claims list at least one of roles: 401
// without claims, 403 otherwise. It panics when given no role, a mistake
// that would otherwise refuse every request.
func (a *Auth[C, P]) RequireRole(roles ...string) func(http.Handler) http.Handler {
	if len(roles) == 0 {
		panic("jwtauth: RequireRole needs at least one role")
	}
	want := append([]string(nil), roles...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFromContext(r.Context())
			if !ok {
				a.cfg.errorHandler(w, r, ErrNoToken)
				return
			}
			for _, role := range want {
				if slices.Contains(c.Roles, role) {
					next.ServeHTTP(w, r)
					return
				}
			}
			a.cfg.errorHandler(w, r, ErrForbidden)
		})
	}
}
