package jwtauth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RefreshToken is what a [RefreshStore] keeps about one refresh token: never
// the token itself, only its SHA-256.
type RefreshToken struct {
	// Family groups the tokens that descend from one login by rotation.
	Family string
	// Hash is the base64url SHA-256 of the token.
	Hash string
	// Subject is the user the family belongs to.
	Subject string
	// IssuedAt and ExpiresAt bound the token's life.
	IssuedAt, ExpiresAt time.Time
}

// RefreshStore keeps refresh token hashes grouped in families. Implementations
// must make RotateRefresh atomic: of two concurrent rotations of one token,
// one succeeds and the other sees a reuse. [MemoryStore] implements it, and
// so does the Store of [github.com/covetgo/covet/jwtauth/redisstore].
//
// A refresh store holds security state: a record it loses early makes a
// spent token unknown rather than reused, so reuse goes undetected, and a
// revoked family it forgets cannot come back (its tokens are refused as
// unknown). An implementation must keep records until their expiry.
type RefreshStore interface {
	// CreateRefresh stores the first token of a new family.
	CreateRefresh(ctx context.Context, t RefreshToken) error
	// RotateRefresh marks the token with hash oldHash in family next.Family
	// used, stores next in its place and returns the old token. A token that
	// was already used revokes the family and returns [ErrRefreshReused]; an
	// unknown or expired token, or a revoked family, returns
	// [ErrRefreshInvalid].
	RotateRefresh(ctx context.Context, oldHash string, next RefreshToken) (RefreshToken, error)
	// RevokeFamily makes every token of the family invalid.
	RevokeFamily(ctx context.Context, family string) error
}

// Denylist revokes access tokens before they expire. [MemoryStore]
// implements it, and so does the Store of
// [github.com/covetgo/covet/jwtauth/redisstore]. A denylist holds security
// state: a record it drops before its expiry makes a revoked token work
// again, so an implementation must never evict.
type Denylist interface {
	// DenyToken refuses the token with this jti until it expires.
	DenyToken(ctx context.Context, jti string, until time.Time) error
	// DenySubject refuses every token of subject issued before notBefore; the
	// record may be dropped after until, when all such tokens have expired.
	DenySubject(ctx context.Context, subject string, notBefore, until time.Time) error
	// Revoked reports whether the token is denied by its jti (skipped when
	// empty) or by its subject's "not before".
	Revoked(ctx context.Context, jti, subject string, issuedAt time.Time) (bool, error)
}

var (
	_ RefreshStore = (*MemoryStore)(nil)
	_ Denylist     = (*MemoryStore)(nil)
)

// MemoryStore is an in-process [RefreshStore] and [Denylist] for a single
// instance and for tests. Expired records are swept as new ones are written,
// so it needs no goroutine. The zero value is not usable; call
// [NewMemoryStore]. Safe for concurrent use.
type MemoryStore struct {
	mu       sync.RWMutex
	families map[string]*memFamily
	jtis     map[string]time.Time
	subjects map[string]memSubject
	writes   int // since the last sweep
	sweepAt  int // writes that trigger the next sweep
	now      func() time.Time
}

type memFamily struct {
	subject string
	expires time.Time
	tokens  map[string]*memToken
}

type memToken struct {
	issued, expires time.Time
	used            bool
}

type memSubject struct{ notBefore, until time.Time }

// NewMemoryStore returns an empty MemoryStore. The only option that applies
// is [WithClock]; any other is refused with an error wrapping
// [ErrInvalidConfig].
func NewMemoryStore(opts ...Option) (*MemoryStore, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	for _, name := range c.given {
		if name != "WithClock" {
			return nil, fmt.Errorf("%w: %s does not apply to NewMemoryStore", ErrInvalidConfig, name)
		}
	}
	if c.has("WithClock") && c.now == nil {
		return nil, fmt.Errorf("%w: WithClock: nil argument", ErrInvalidConfig)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return &MemoryStore{
		families: map[string]*memFamily{},
		jtis:     map[string]time.Time{},
		subjects: map[string]memSubject{},
		now:      c.now,
	}, nil
}

// CreateRefresh implements [RefreshStore].
func (m *MemoryStore) CreateRefresh(_ context.Context, t RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wrote()
	m.families[t.Family] = &memFamily{
		subject: t.Subject,
		expires: t.ExpiresAt,
		tokens:  map[string]*memToken{t.Hash: {issued: t.IssuedAt, expires: t.ExpiresAt}},
	}
	return nil
}

// RotateRefresh implements [RefreshStore].
func (m *MemoryStore) RotateRefresh(_ context.Context, oldHash string, next RefreshToken) (RefreshToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wrote()
	now := m.now()
	f := m.families[next.Family]
	if f == nil || !now.Before(f.expires) {
		return RefreshToken{}, ErrRefreshInvalid
	}
	old := f.tokens[oldHash]
	if old == nil || !now.Before(old.expires) {
		return RefreshToken{}, ErrRefreshInvalid
	}
	if old.used {
		delete(m.families, next.Family)
		return RefreshToken{}, ErrRefreshReused
	}
	old.used = true
	f.tokens[next.Hash] = &memToken{issued: next.IssuedAt, expires: next.ExpiresAt}
	if next.ExpiresAt.After(f.expires) {
		f.expires = next.ExpiresAt
	}
	return RefreshToken{Family: next.Family, Hash: oldHash, Subject: f.subject, IssuedAt: old.issued, ExpiresAt: old.expires}, nil
}

// RevokeFamily implements [RefreshStore].
func (m *MemoryStore) RevokeFamily(_ context.Context, family string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.families, family)
	return nil
}

// DenyToken implements [Denylist].
func (m *MemoryStore) DenyToken(_ context.Context, jti string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wrote()
	m.jtis[jti] = until
	return nil
}

// DenySubject implements [Denylist].
func (m *MemoryStore) DenySubject(_ context.Context, subject string, notBefore, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wrote()
	if cur, ok := m.subjects[subject]; ok && cur.notBefore.After(notBefore) {
		notBefore = cur.notBefore
	}
	m.subjects[subject] = memSubject{notBefore: notBefore, until: until}
	return nil
}

// Revoked implements [Denylist].
func (m *MemoryStore) Revoked(_ context.Context, jti, subject string, issuedAt time.Time) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	now := m.now()
	if jti != "" {
		if until, ok := m.jtis[jti]; ok && now.Before(until) {
			return true, nil
		}
	}
	if s, ok := m.subjects[subject]; ok && now.Before(s.until) && issuedAt.Before(s.notBefore) {
		return true, nil
	}
	return false, nil
}

// wrote counts a write and sweeps expired records once the writes since the
// last sweep reach the number of records that sweep kept, which keeps the
// cost amortised constant per write. Callers hold mu.
func (m *MemoryStore) wrote() {
	m.writes++
	if m.writes < max(64, m.sweepAt) {
		return
	}
	m.writes = 0
	defer func() { m.sweepAt = len(m.families) + len(m.jtis) + len(m.subjects) }()
	now := m.now()
	for k, f := range m.families {
		if !now.Before(f.expires) {
			delete(m.families, k)
			continue
		}
		for h, t := range f.tokens {
			if !now.Before(t.expires) {
				delete(f.tokens, h)
			}
		}
	}
	for k, until := range m.jtis {
		if !now.Before(until) {
			delete(m.jtis, k)
		}
	}
	for k, s := range m.subjects {
		if !now.Before(s.until) {
			delete(m.subjects, k)
		}
	}
}
