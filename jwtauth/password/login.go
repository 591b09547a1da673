package password

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/covetgo/covet/internal/typednil"
)

// Lockout counts failed logins per account and locks it after too many. The
// method set matches covet's ratelimit/lockout, which satisfies it without
// either package importing the other.
type Lockout interface {
	// Check returns when the account's lockout ends, or a time not after
	// now (the zero time) when it is not locked.
	Check(ctx context.Context, account string) (lockedUntil time.Time, err error)
	// Fail records a failed attempt and returns when the account's lockout
	// ends, if this failure locked it.
	Fail(ctx context.Context, account string) (lockedUntil time.Time, err error)
	// Succeed clears the account's failures.
	Succeed(ctx context.Context, account string) error
}

// LookupFunc finds an account by the name it logs in with and returns the
// user and its stored password hash, or [ErrUnknownAccount].
type LookupFunc[U any] func(ctx context.Context, account string) (user U, passwordHash string, err error)

// Login checks credentials: it consults the lockout, looks the account up,
// verifies the password and upgrades old hashes. Build it with [NewLogin];
// safe for concurrent use.
type Login[U any] struct {
	hasher  *Hasher
	lookup  LookupFunc[U]
	lockout Lockout
	now     func() time.Time
}

// NewLogin returns a Login. lockout may be nil, which disables lockout (and
// leaves brute-force protection to something else); a typed nil (a nil
// *lockout.Lockout in the interface) is refused, since it would panic on
// the first login.
func NewLogin[U any](hasher *Hasher, lookup LookupFunc[U], lockout Lockout) (*Login[U], error) {
	switch {
	case hasher == nil:
		return nil, fmt.Errorf("%w: NewLogin: nil hasher", ErrInvalidConfig)
	case lookup == nil:
		return nil, fmt.Errorf("%w: NewLogin: nil lookup", ErrInvalidConfig)
	case lockout != nil && typednil.Is(lockout):
		return nil, fmt.Errorf("%w: NewLogin: lockout is a nil %T; pass nil itself to disable the lockout", ErrInvalidConfig, lockout)
	}
	return &Login[U]{hasher: hasher, lookup: lookup, lockout: lockout, now: time.Now}, nil
}

// Authenticate returns the user whose account and password match. A wrong
// password and an unknown account both return [ErrInvalidCredentials] after
// the same work (a dummy argon2id verification), so neither the answer nor
// its timing tells which accounts exist, and both count as a failure for the
// lockout. While the account is locked it returns a [*LockedError] without
// checking the password. When the stored hash is bcrypt or uses old
// parameters, newHash is the password's fresh argon2id hash, to be stored;
// otherwise it is "". Lookup, lockout and hash-format failures are returned
// wrapped; answer them with 5xx. Normalise account (case, whitespace) before
// calling: the lockout counts it as given.
func (l *Login[U]) Authenticate(ctx context.Context, account, password string) (user U, newHash string, err error) {
	var zero U
	if l.lockout != nil {
		until, err := l.lockout.Check(ctx, account)
		if err != nil {
			return zero, "", fmt.Errorf("password: lockout: %w", err)
		}
		if until.After(l.now()) {
			return zero, "", &LockedError{Until: until}
		}
	}
	user, hash, err := l.lookup(ctx, account)
	switch {
	case errors.Is(err, ErrUnknownAccount):
		if err := l.hasher.verifyDummy(ctx, password); err != nil {
			return zero, "", err
		}
		return zero, "", l.fail(ctx, account)
	case err != nil:
		return zero, "", fmt.Errorf("password: lookup: %w", err)
	}
	ok, rehash, err := l.hasher.VerifyContext(ctx, password, hash)
	if err != nil {
		return zero, "", err
	}
	if !ok {
		return zero, "", l.fail(ctx, account)
	}
	if l.lockout != nil {
		if err := l.lockout.Succeed(ctx, account); err != nil {
			return zero, "", fmt.Errorf("password: lockout: %w", err)
		}
	}
	if rehash {
		// Cannot fail: Verify already refused passwords Hash would refuse.
		newHash, _ = l.hasher.HashContext(ctx, password)
	}
	return user, newHash, nil
}

func (l *Login[U]) fail(ctx context.Context, account string) error {
	if l.lockout != nil {
		// The answer stays "invalid credentials" even when this failure
		// starts a lock; the next attempt is told it is locked.
		if _, err := l.lockout.Fail(ctx, account); err != nil {
			return fmt.Errorf("%w (lockout: %w)", ErrInvalidCredentials, err)
		}
	}
	return ErrInvalidCredentials
}
