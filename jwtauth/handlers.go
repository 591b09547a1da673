package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Limits on the members of a login body, checked before the password check
// runs: a password hash costs memory and CPU, so oversized input is refused
// unhashed.
const (
	maxUsername = 256
	maxPassword = 1024
)

// CheckFunc is the caller's half of a login: it finds the account called
// username and checks its password, returning the claims to issue (Subject
// set) when both match. It returns an error wrapping
// [ErrInvalidCredentials] for an unknown account and a wrong password
// alike, after the same work, so neither the answer nor its timing says
// which accounts exist; an error implementing [LockedOut] while the account
// is locked; any other error for a failure on its side (answered 503). It
// also records what a login should record (a lockout's failures and
// successes, an upgraded password hash, a last-login time).
// jwtauth/password's Login.Authenticate does the account and password part.
type CheckFunc[C any] func(ctx context.Context, username, password string) (C, error)

// LockedOut is the one method the login handler asks of an error returned
// by a [CheckFunc] (found with errors.As) to tell a locked account: it is
// answered 429 Too Many Requests with Retry-After until LockedUntil. The
// *LockedError of jwtauth/password implements it, so a CheckFunc built on
// its Login, with covet's ratelimit/lockout as the lockout, needs no glue;
// jwtauth imports neither.
type LockedOut interface {
	// LockedUntil returns when the lock ends.
	LockedUntil() time.Time
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// cookieTokenSet is the body of a token response when the tokens travel in
// cookies: the access and refresh tokens are left out, so that script,
// which the HttpOnly cookies keep them from, cannot read them here either.
type cookieTokenSet struct {
	CSRFToken string `json:"csrf_token"`
	TokenType string `json:"token_type"`
	ExpiresIn int    `json:"expires_in"`
}

// LoginHandler returns the POST handler of a password login. It takes a
// JSON body {"username": …, "password": …}, decoded strictly (exact member
// names, no duplicates, no unknown members, nothing after the object,
// at most 16 KiB; username up to 256 and password up to 1024 bytes), calls
// check and issues a token set for the claims it returns ([Auth.Issue]).
//
// The answer is 200 with the [TokenSet] as JSON and Cache-Control: no-store.
// With cookies (the default; not [WithoutCookies]) the tokens are set as
// cookies ([Auth.SetCookies]) and the body carries only csrf_token,
// token_type and expires_in, and a cross-origin browser request is refused
// first (403), so that no other site can sign a browser in. Refusals go to
// the error handler ([WithErrorHandler]) with an error wrapping
// [ErrBadRequest] (400; 415 for a Content-Type other than
// application/json, 413 for a body too large), [ErrInvalidCredentials]
// (401 with WWW-Authenticate: Bearer), a [LockedOut] error (429;
// Retry-After is set before the error handler runs) or anything else (503
// with Retry-After). Every body is an RFC 9457
// problem that never says which check failed.
//
// check must not be nil. Safe for concurrent use.
func (a *Auth[C, P]) LoginHandler(check CheckFunc[C]) (http.Handler, error) {
	if check == nil {
		return nil, fmt.Errorf("%w: LoginHandler: nil check", ErrInvalidConfig)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.cfg.noCookies {
			if err := a.CheckOrigin(r); err != nil {
				a.cfg.errorHandler(w, r, err)
				return
			}
		}
		var in loginRequest
		if err := a.decodeBody(r, &in); err != nil {
			a.cfg.errorHandler(w, r, err)
			return
		}
		switch {
		case in.Username == "" || in.Password == "":
			a.cfg.errorHandler(w, r, fmt.Errorf("%w: username and password are required", ErrBadRequest))
			return
		case len(in.Username) > maxUsername || len(in.Password) > maxPassword:
			a.cfg.errorHandler(w, r, fmt.Errorf("%w: username or password too long", ErrBadRequest))
			return
		}
		claims, err := check(r.Context(), in.Username, in.Password)
		if err != nil {
			var locked LockedOut
			if errors.As(err, &locked) {
				w.Header().Set("Retry-After", retryAfter(locked.LockedUntil().Sub(a.cfg.now())))
			}
			a.cfg.errorHandler(w, r, err)
			return
		}
		set, err := a.Issue(r.Context(), claims)
		if err != nil {
			a.cfg.errorHandler(w, r, err)
			return
		}
		a.writeTokens(w, set)
	}), nil
}

// RefreshHandler returns the POST handler that rotates a refresh token
// ([Auth.Refresh]): the token comes from a JSON body {"refresh_token": …},
// decoded as strictly as the login's, or, with cookies and no body, from
// the refresh cookie. load rebuilds the claims of the family's subject, so
// changed roles take effect; it returns an error wrapping
// [ErrRefreshInvalid] for a user who may no longer sign in.
//
// The answer is the login's. A spent, unknown, expired or revoked token is
// answered 401 with WWW-Authenticate: Bearer error="invalid_token" (and,
// with cookies, the cookies cleared); a spent one also revokes its whole
// family, which is how a stolen refresh token is caught. A store failure is
// answered 503 with Retry-After. With cookies, a cross-origin browser
// request is refused (403). It needs [WithRefreshStore]; load must not be
// nil. Safe for concurrent use.
func (a *Auth[C, P]) RefreshHandler(load func(ctx context.Context, subject string) (C, error)) (http.Handler, error) {
	switch {
	case load == nil:
		return nil, fmt.Errorf("%w: RefreshHandler: nil load", ErrInvalidConfig)
	case a.cfg.refresh == nil:
		return nil, fmt.Errorf("%w: RefreshHandler: %w", ErrInvalidConfig, ErrNoRefreshStore)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := a.refreshFrom(w, r, true)
		if !ok {
			return
		}
		set, err := a.Refresh(r.Context(), token, load)
		if err != nil {
			if errors.Is(err, ErrRefreshInvalid) {
				a.ClearCookies(w)
			}
			a.cfg.errorHandler(w, r, err)
			return
		}
		a.writeTokens(w, set)
	}), nil
}

// LogoutHandler returns the POST handler of a logout: it revokes the family
// of the refresh token, from a JSON body {"refresh_token": …} or the
// refresh cookie, and, with a [Denylist], the access token the request
// carries (bearer or cookie), so neither works again. Either may be
// missing, malformed or already invalid: there is then nothing of it to
// revoke, and the answer is still 204 No Content (with cookies, the
// cookies cleared). A store failure is answered 503 with Retry-After, so
// the client knows to try again. With cookies, a cross-origin browser
// request is refused (403). It needs [WithRefreshStore] or [WithDenylist].
// Safe for concurrent use.
func (a *Auth[C, P]) LogoutHandler() (http.Handler, error) {
	if a.cfg.refresh == nil && a.cfg.denylist == nil {
		return nil, fmt.Errorf("%w: LogoutHandler needs WithRefreshStore or WithDenylist: there is nothing to revoke", ErrInvalidConfig)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := a.refreshFrom(w, r, false)
		if !ok {
			return
		}
		ctx := r.Context()
		if token != "" && a.cfg.refresh != nil {
			if err := a.Logout(ctx, token); err != nil {
				a.cfg.errorHandler(w, r, err)
				return
			}
		}
		if a.cfg.denylist != nil {
			if err := a.revokePresented(ctx, r); err != nil {
				a.cfg.errorHandler(w, r, err)
				return
			}
		}
		a.ClearCookies(w)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}), nil
}

// refreshFrom returns the refresh token of a refresh or logout request:
// from the JSON body when there is one, else from the refresh cookie. It
// answers the request itself and returns false on a refusal. With cookies
// the origin is checked first. A refresh requires a token; a logout does
// not.
func (a *Auth[C, P]) refreshFrom(w http.ResponseWriter, r *http.Request, required bool) (string, bool) {
	if !a.cfg.noCookies {
		if err := a.CheckOrigin(r); err != nil {
			a.cfg.errorHandler(w, r, err)
			return "", false
		}
	}
	var in refreshRequest
	// A logout may come without a body; a bearer refresh must have one.
	if r.ContentLength != 0 || (required && a.cfg.noCookies) {
		if err := a.decodeBody(r, &in); err != nil {
			a.cfg.errorHandler(w, r, err)
			return "", false
		}
	}
	if in.RefreshToken == "" && !a.cfg.noCookies {
		in.RefreshToken = a.RefreshTokenFromCookie(r)
	}
	if required && in.RefreshToken == "" {
		a.cfg.errorHandler(w, r, fmt.Errorf("%w: refresh_token is required", ErrBadRequest))
		return "", false
	}
	return in.RefreshToken, true
}

// revokePresented denylists the access token of a logout request: the
// claims the middleware put in the context, else the token the request
// carries, if it verifies. A token that does not verify has nothing to
// revoke; a store failure is returned.
func (a *Auth[C, P]) revokePresented(ctx context.Context, r *http.Request) error {
	if c, ok := ClaimsFromContext(ctx); ok {
		return a.Revoke(ctx, c)
	}
	token, _ := a.tokenFrom(r)
	if token == "" {
		return nil
	}
	p := P(new(C))
	err := a.verifyInto(ctx, token, p)
	switch {
	case errors.Is(err, ErrTokenInvalid), errors.Is(err, ErrNoToken):
		return nil
	case err != nil:
		return err
	}
	return a.Revoke(ctx, p.base())
}

// writeTokens answers a login or refresh: 200, never stored by a cache.
func (a *Auth[C, P]) writeTokens(w http.ResponseWriter, set TokenSet) {
	var body any = set
	if !a.cfg.noCookies {
		a.SetCookies(w, set)
		body = cookieTokenSet{CSRFToken: set.CSRFToken, TokenType: set.TokenType, ExpiresIn: set.ExpiresIn}
	}
	b, err := json.Marshal(body)
	if err != nil { // strings and ints: cannot happen
		panic("jwtauth: encoding token set: " + err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

// retryAfter is d in whole seconds for Retry-After, rounded up and at least
// 1, so a client that waits as told is never early.
func retryAfter(d time.Duration) string {
	s := math.Ceil(d.Seconds())
	return strconv.FormatInt(int64(max(s, 1)), 10)
}
