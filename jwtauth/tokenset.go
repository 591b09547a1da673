package jwtauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TokenSet is what a login or a refresh returns to the client, in the JSON
// shape of RFC 6749 §5.1 plus the CSRF token.
type TokenSet struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	CSRFToken    string `json:"csrf_token"`
	TokenType    string `json:"token_type"` // always "Bearer"
	ExpiresIn    int    `json:"expires_in"` // seconds until the access token expires
	// RefreshExpiresIn is the refresh token's lifetime in seconds; it sets the
	// refresh cookie's Max-Age and is not sent in the JSON body.
	RefreshExpiresIn int `json:"-"`
}

// Lengths of the random parts of a refresh token: "<family>.<secret>".
const (
	familyBytes = 16
	secretBytes = 32
)

// Issue signs an access token for claims and the CSRF token bound to it,
// and, with a refresh store ([WithRefreshStore]), starts a new refresh token
// family for claims' subject. It fills iss, aud, iat, exp, jti, typ and the
// CSRF binding, overwriting what claims held; Subject must be set. Without a
// refresh store the set has no refresh token, and the client signs in again
// when the access token expires.
func (a *Auth[C, P]) Issue(ctx context.Context, claims C) (TokenSet, error) {
	access, csrf, err := a.sign(claims)
	if err != nil {
		return TokenSet{}, err
	}
	if a.cfg.refresh == nil {
		set := a.tokenSet(access, "", csrf)
		set.RefreshExpiresIn = 0
		return set, nil
	}
	refresh, rec := a.newRefresh(randomToken(familyBytes), P(&claims).base().Subject)
	if err := a.cfg.refresh.CreateRefresh(ctx, rec); err != nil {
		return TokenSet{}, err
	}
	return a.tokenSet(access, refresh, csrf), nil
}

func (a *Auth[C, P]) tokenSet(access, refresh, csrf string) TokenSet {
	return TokenSet{
		AccessToken:      access,
		RefreshToken:     refresh,
		CSRFToken:        csrf,
		TokenType:        "Bearer",
		ExpiresIn:        int(a.cfg.accessTTL / time.Second),
		RefreshExpiresIn: int(a.cfg.refreshTTL / time.Second),
	}
}

func (a *Auth[C, P]) newRefresh(family, subject string) (string, RefreshToken) {
	token := family + "." + randomToken(secretBytes)
	now := a.cfg.now()
	return token, RefreshToken{
		Family:    family,
		Hash:      hashToken(token),
		Subject:   subject,
		IssuedAt:  now,
		ExpiresAt: now.Add(a.cfg.refreshTTL),
	}
}

// hashToken is the base64url SHA-256 of a refresh token. A fast hash is right
// here: the token holds 256 random bits, so there is nothing to brute-force.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// splitRefresh returns the family of a well-formed refresh token.
func splitRefresh(token string) (family string, ok bool) {
	fam, secret, found := strings.Cut(token, ".")
	if !found || len(fam) != base64.RawURLEncoding.EncodedLen(familyBytes) ||
		len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return "", false
	}
	// Strict: one spelling per token.
	enc := base64.RawURLEncoding.Strict()
	if _, err := enc.DecodeString(fam); err != nil {
		return "", false
	}
	if _, err := enc.DecodeString(secret); err != nil {
		return "", false
	}
	return fam, true
}

// Refresh rotates refreshToken: the presented token is spent and a new token
// set is returned, its access token built from the claims load returns for
// the family's subject (so changed roles take effect). Presenting a spent
// token revokes the whole family and returns [ErrRefreshReused]; any other
// refusal is [ErrRefreshInvalid]. With a [Denylist], a family older than its
// subject's "not before" is revoked too.
func (a *Auth[C, P]) Refresh(ctx context.Context, refreshToken string, load func(ctx context.Context, subject string) (C, error)) (TokenSet, error) {
	if a.cfg.refresh == nil {
		return TokenSet{}, ErrNoRefreshStore
	}
	family, ok := splitRefresh(refreshToken)
	if !ok {
		return TokenSet{}, ErrRefreshInvalid
	}
	next, rec := a.newRefresh(family, "")
	old, err := a.cfg.refresh.RotateRefresh(ctx, hashToken(refreshToken), rec)
	if err != nil {
		return TokenSet{}, err
	}
	if a.cfg.denylist != nil {
		revoked, err := a.cfg.denylist.Revoked(ctx, "", old.Subject, old.IssuedAt)
		if err != nil {
			return TokenSet{}, fmt.Errorf("jwtauth: denylist: %w", err)
		}
		if revoked {
			if err := a.cfg.refresh.RevokeFamily(ctx, family); err != nil {
				return TokenSet{}, err
			}
			return TokenSet{}, ErrRefreshInvalid
		}
	}
	claims, err := load(ctx, old.Subject)
	if err != nil {
		return TokenSet{}, fmt.Errorf("jwtauth: load claims: %w", err)
	}
	P(&claims).base().Subject = old.Subject
	access, csrf, err := a.sign(claims)
	if err != nil {
		return TokenSet{}, err
	}
	return a.tokenSet(access, next, csrf), nil
}

// Logout revokes the family of refreshToken. A malformed token is ignored,
// since there is nothing to revoke.
func (a *Auth[C, P]) Logout(ctx context.Context, refreshToken string) error {
	if a.cfg.refresh == nil {
		return ErrNoRefreshStore
	}
	family, ok := splitRefresh(refreshToken)
	if !ok {
		return nil
	}
	return a.cfg.refresh.RevokeFamily(ctx, family)
}

// Revoke puts the access token with claims on the denylist until it expires.
func (a *Auth[C, P]) Revoke(ctx context.Context, claims *Claims) error {
	if a.cfg.denylist == nil {
		return errors.New("jwtauth: no denylist configured")
	}
	if claims == nil || claims.ID == "" || claims.ExpiresAt == 0 {
		return fmt.Errorf("jwtauth: revoke: %w", ErrMissingClaim)
	}
	return a.cfg.denylist.DenyToken(ctx, claims.ID, time.Unix(claims.ExpiresAt, 0).Add(a.cfg.leeway))
}

// RevokeAll logs subject out everywhere: every access token and refresh
// family issued to it before now stops working. Tokens issued within the
// current second survive, since iat has a resolution of one second.
func (a *Auth[C, P]) RevokeAll(ctx context.Context, subject string) error {
	if a.cfg.denylist == nil {
		return errors.New("jwtauth: no denylist configured")
	}
	now := a.cfg.now()
	return a.cfg.denylist.DenySubject(ctx, subject, now.Truncate(time.Second), now.Add(a.cfg.refreshTTL+a.cfg.leeway))
}
