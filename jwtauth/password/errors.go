package password

import (
	"errors"
	"time"
)

// ErrInvalidConfig is wrapped by every constructor error caused by a bad
// argument or option.
var ErrInvalidConfig = errors.New("password: invalid configuration")

// Password and login errors.
var (
	// ErrInvalidCredentials is returned by [Login.Authenticate] for an unknown
	// account and for a wrong password alike.
	ErrInvalidCredentials = errors.New("password: invalid credentials")
	// ErrUnknownAccount is returned by a [LookupFunc] when no account has the
	// given name. [Login.Authenticate] turns it into [ErrInvalidCredentials].
	ErrUnknownAccount = errors.New("password: unknown account")
	// ErrLocked is matched by [*LockedError], returned while an account is
	// locked out.
	ErrLocked = errors.New("password: account locked")
	// ErrUnknownHash means a stored password hash is in no supported format.
	ErrUnknownHash = errors.New("password: unknown hash format")
	// ErrPolicy is wrapped by every password policy violation.
	ErrPolicy = errors.New("password: rejected by policy")
	// ErrTooShort means the password has fewer characters than the
	// policy's minimum.
	ErrTooShort = errors.New("password: too short")
	// ErrTooLong means the password has more characters than the
	// policy's maximum.
	ErrTooLong = errors.New("password: too long")
	// ErrCommon means the password is on the list of common passwords
	// or equals a context word such as the username.
	ErrCommon = errors.New("password: too common")
	// ErrClasses means the password lacks a character class the
	// policy requires.
	ErrClasses = errors.New("password: lacks a required character class")
)

// LockedError is returned while an account is locked out. It matches
// [ErrLocked] with errors.Is; Until tells the caller what to put in
// Retry-After.
type LockedError struct {
	// Until is when the lockout ends.
	Until time.Time
}

// Error implements error.
func (e *LockedError) Error() string {
	return "password: account locked until " + e.Until.UTC().Format(time.RFC3339)
}

// LockedUntil returns Until. It is the one method jwtauth's login handler
// looks for (jwtauth.LockedOut) to answer 429 with Retry-After, so a
// jwtauth.CheckFunc built on [Login.Authenticate] can return this error as
// it is.
func (e *LockedError) LockedUntil() time.Time { return e.Until }

// Is reports whether target is [ErrLocked].
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
