package app

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/password"
	"github.com/covetgo/covet/stream"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *App) claimsFor(u loginUser) jwtauth.Claims {
	c := jwtauth.Claims{Username: u.Username, Roles: []string{"user"}}
	if u.Admin {
		c.Roles = append(c.Roles, "admin")
	}
	c.Subject = strconv.FormatInt(u.ID, 10)
	return c
}

// hashWait bounds how long a login or user creation waits for a password
// hashing slot.
const hashWait = 5 * time.Second

func (a *App) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if !decodeJSON(w, r, &in) {
		return
	}
	// Normalised, so that the lockout counts "Admin" and "admin" as one.
	account := NormalizeUsername(in.Username)
	if account == "" || in.Password == "" || len(account) > 50 || len(in.Password) > 1024 {
		writeProblem(w, http.StatusUnprocessableEntity, "username and password are required")
		return
	}
	// Hashing runs under a memory budget: wait for a slot at most hashWait,
	// then 503 + Retry-After (password.ErrBusy) rather than risk an OOM kill.
	lctx, cancel := context.WithTimeout(r.Context(), hashWait)
	defer cancel()
	user, newHash, err := a.login.Authenticate(lctx, account, in.Password)
	var locked *password.LockedError
	switch {
	case errors.As(err, &locked):
		secs := int(time.Until(locked.Until).Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		writeProblem(w, http.StatusTooManyRequests, "too many failed logins for this account; try again later")
		return
	case errors.Is(err, password.ErrInvalidCredentials):
		writeProblem(w, http.StatusUnauthorized, "invalid username or password")
		return
	case err != nil:
		a.serverError(w, r, "login", err)
		return
	}
	if err := a.users.SetLastLogin(r.Context(), user.ID, time.Now()); err != nil {
		// The login itself succeeded; a missing stamp is not worth refusing it.
		a.log.WarnContext(r.Context(), "recording the login time", "err", err)
	}
	if newHash != "" {
		if err := a.users.SetPasswordHash(r.Context(), user.ID, newHash); err != nil {
			a.log.WarnContext(r.Context(), "storing an upgraded password hash", "err", err)
		}
	}
	set, err := a.auth.Issue(r.Context(), a.claimsFor(user))
	if err != nil {
		a.serverError(w, r, "issue tokens", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, set)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (a *App) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var in refreshRequest
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.RefreshToken == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "refresh_token is required")
		return
	}
	set, err := a.auth.Refresh(r.Context(), in.RefreshToken, a.loadClaims)
	switch {
	case errors.Is(err, jwtauth.ErrRefreshInvalid), errors.Is(err, jwtauth.ErrRefreshReused), errors.Is(err, errUserGone):
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeProblem(w, http.StatusUnauthorized, "the refresh token is not valid")
		return
	case err != nil:
		a.serverError(w, r, "refresh", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, set)
}

var errUserGone = errors.New("user no longer active")

func (a *App) loadClaims(ctx context.Context, subject string) (jwtauth.Claims, error) {
	id, err := strconv.ParseInt(subject, 10, 64)
	if err != nil {
		return jwtauth.Claims{}, errUserGone
	}
	u, err := a.users.Get(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Status != "active") {
		return jwtauth.Claims{}, errUserGone
	}
	if err != nil {
		return jwtauth.Claims{}, err
	}
	return a.claimsFor(loginUser{ID: u.ID, Username: u.Username, Admin: u.Username == a.cfg.AdminUsername}), nil
}

// handleLogout revokes the refresh token's family and, when the request is
// authenticated, the access token itself.
func (a *App) handleLogout(w http.ResponseWriter, r *http.Request) {
	var in refreshRequest
	if r.ContentLength != 0 && !decodeJSON(w, r, &in) {
		return
	}
	if in.RefreshToken != "" {
		if err := a.auth.Logout(r.Context(), in.RefreshToken); err != nil {
			a.serverError(w, r, "logout", err)
			return
		}
	}
	if c, ok := jwtauth.ClaimsFromContext(r.Context()); ok {
		if err := a.auth.Revoke(r.Context(), c); err != nil {
			a.serverError(w, r, "revoke", err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// usersPage is the body of GET /api/v1/users.
type usersPage struct {
	Users []User `json:"users"`
	// NextAfter is the after= value of the next page; absent on the last.
	NextAfter *int64 `json:"next_after,omitempty"`
}

// publicUsersPage is the list as users other than admins see it.
type publicUsersPage struct {
	Users     []PublicUser `json:"users"`
	NextAfter *int64       `json:"next_after,omitempty"`
}

// isAdmin reports whether the request's token carries the admin role.
func isAdmin(r *http.Request) bool {
	c, ok := jwtauth.ClaimsFromContext(r.Context())
	return ok && slices.Contains(c.Roles, roleAdmin)
}

// isSelf reports whether the request's token belongs to user id.
func isSelf(r *http.Request, id int64) bool {
	c, ok := jwtauth.ClaimsFromContext(r.Context())
	return ok && c.Subject == strconv.FormatInt(id, 10)
}

func (a *App) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, after := 50, int64(0)
	var bad []FieldError
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			bad = append(bad, FieldError{"limit", "must be a whole number from 1 to 500"})
		}
		limit = n
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad = append(bad, FieldError{"after", "must be a user id"})
		}
		after = n
	}
	if len(bad) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid query parameters", bad...)
		return
	}
	users, err := a.users.Page(r.Context(), after, limit)
	if err != nil {
		a.serverError(w, r, "list users", err)
		return
	}
	w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(listTTL/time.Second)))
	w.Header().Add("Vary", "Authorization")
	var next *int64
	if len(users) == limit {
		id := users[len(users)-1].ID
		next = &id
	}
	// The list is cached per user, so an admin's full page is never
	// served to anyone else.
	if isAdmin(r) {
		writeJSON(w, http.StatusOK, usersPage{Users: users, NextAfter: next})
		return
	}
	pub := make([]PublicUser, len(users))
	for i, u := range users {
		pub[i] = u.Public()
	}
	writeJSON(w, http.StatusOK, publicUsersPage{Users: pub, NextAfter: next})
}

func (a *App) handleGetUser(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		writeProblem(w, http.StatusNotFound, "no such user")
		return
	}
	u, err := a.caches.user(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		writeProblem(w, http.StatusNotFound, "no such user")
		return
	}
	if err != nil {
		a.serverError(w, r, "get user", err)
		return
	}
	// A user reads its own record, an admin every record; others see only
	// the public fields.
	if isSelf(r, id) || isAdmin(r) {
		writeJSON(w, http.StatusOK, u)
		return
	}
	writeJSON(w, http.StatusOK, u.Public())
}

func (a *App) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var in NewUser
	if !decodeJSON(w, r, &in) {
		return
	}
	in.Username = NormalizeUsername(in.Username)
	if bad := in.Validate(func(p string) error {
		if err := a.policy.Check(p, in.Username, in.Email); err != nil {
			return passwordMessage(err)
		}
		return nil
	}); len(bad) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "the user is not valid", bad...)
		return
	}
	// Waits for a hashing slot at most hashWait, then 503 + Retry-After.
	hctx, cancel := context.WithTimeout(r.Context(), hashWait)
	hash, err := a.hasher.HashContext(hctx, in.Password)
	cancel()
	if err != nil {
		a.serverError(w, r, "hash password", err)
		return
	}
	u, err := a.users.Create(r.Context(), in, hash)
	if errors.Is(err, ErrDuplicate) {
		writeProblem(w, http.StatusConflict, "a user with this username or email already exists")
		return
	}
	if err != nil {
		a.serverError(w, r, "create user", err)
		return
	}
	a.caches.usersChanged(r.Context(), u.ID)
	w.Header().Set("Location", "/api/v1/users/"+strconv.FormatInt(u.ID, 10))
	writeJSON(w, http.StatusCreated, u)
}

// passwordMessage turns a policy error into words safe to show the client.
func passwordMessage(err error) error {
	switch {
	case errors.Is(err, password.ErrTooShort):
		return errors.New("is too short")
	case errors.Is(err, password.ErrTooLong):
		return errors.New("is too long")
	case errors.Is(err, password.ErrCommon):
		return errors.New("is too common or contains the username or email")
	case errors.Is(err, password.ErrClasses):
		return errors.New("lacks a required kind of character")
	}
	return errors.New("is not acceptable")
}

// errNoFirstRow is the cause of an export stopped because the database had
// not started answering within DATABASE_QUERY_TIMEOUT.
var errNoFirstRow = errors.New("the database did not start answering the export in time")

// handleExportUsers streams the users table. The query must start answering
// within DATABASE_QUERY_TIMEOUT (503 with Retry-After otherwise, like any
// request); once rows flow the export may run as long as it needs, since a
// large table takes longer than any per-request budget.
func (a *App) handleExportUsers(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	deadline := time.AfterFunc(a.cfg.DatabaseQueryTimeout, func() { cancel(errNoFirstRow) })
	rows, err := a.db.QueryxContext(ctx, "SELECT id, username, email, bio, status, created_at FROM users ORDER BY id")
	if !deadline.Stop() && err == nil {
		// The deadline fired as the first answer came: the rows are dead.
		_ = rows.Close()
		err = context.Cause(ctx)
	}
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errNoFirstRow) {
			err = cause // not the client's cancellation: answer 503
		}
		a.serverError(w, r, "export users", err)
		return
	}
	// A client that leaves mid-export is no server problem: stream reports
	// it as ErrAborted (the query already stopped).
	if err := a.exporter.Rows(w, r.WithContext(ctx), rows); err != nil && !errors.Is(err, stream.ErrAborted) {
		a.log.WarnContext(r.Context(), "export users", "err", err)
	}
}

// serverError answers a failure of a dependency (the database, Redis): 503
// with Retry-After, since the same request may succeed once it is back. The
// only 500 the service sends is for a panic (see recoverer).
func (a *App) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	a.log.ErrorContext(r.Context(), what, "err", err)
	w.Header().Set("Retry-After", "1")
	writeProblem(w, http.StatusServiceUnavailable, "a dependency is temporarily unavailable; retry shortly")
}
