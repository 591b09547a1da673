package lockout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/covetgo/covet/ratelimit"
)

// ErrInvalidConfig is wrapped by every constructor error caused by a bad
// argument or option.
var ErrInvalidConfig = errors.New("lockout: invalid configuration")

// Lockout locks an account after repeated failures (typically failed logins):
// after the maximum number of failures within the window the account is
// locked for the lock duration, which doubles with each further lock up to
// the longest; a success resets everything.
//
// Its method set is Check, Fail and Succeed, so an authentication package can
// declare the same three methods in an interface of its own and accept a
// *Lockout without importing this package (jwtauth/password's Lockout is
// such an interface):
//
//	type Lockout interface {
//		Check(ctx context.Context, account string) (lockedUntil time.Time, err error)
//		Fail(ctx context.Context, account string) (lockedUntil time.Time, err error)
//		Succeed(ctx context.Context, account string) error
//	}
//
// Lockout is keyed by account, not by client, so that a distributed guessing
// attack is stopped too; pair it with a per-IP [ratelimit.Limiter] so that
// one client cannot lock many accounts cheaply. A Lockout is safe for
// concurrent use.
type Lockout struct {
	cfg config
	mem *lockMem // all state without a store; the LocalFallback state with one
	now func() time.Time
}

// New returns a lockout. Without [WithStore] its state is kept in process
// memory (one replica only); with it, in the store, shared by every
// replica. Every configuration mistake is reported here, wrapped in
// [ErrInvalidConfig].
func New(opts ...Option) (*Lockout, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Lockout{cfg: c, mem: &lockMem{m: make(map[string]*lockState)}, now: time.Now}, nil
}

// Check returns when account's lock ends, or the zero time if it is not
// locked.
func (l *Lockout) Check(ctx context.Context, account string) (lockedUntil time.Time, err error) {
	return l.do(ctx, account, false)
}

// Fail records a failure for account and returns when its lock ends (the
// zero time if it is not locked). Failures while locked are not counted.
func (l *Lockout) Fail(ctx context.Context, account string) (lockedUntil time.Time, err error) {
	return l.do(ctx, account, true)
}

// Succeed clears account's failures, lock and lock level.
func (l *Lockout) Succeed(ctx context.Context, account string) error {
	if l.cfg.store != nil {
		err := l.cfg.store.Clear(ctx, account)
		if err == nil || !errors.Is(err, ErrUnavailable) {
			return err
		}
		switch l.cfg.policy {
		case ratelimit.FailClosed:
			return err
		case ratelimit.FailOpen:
			return nil
		}
	}
	l.mem.mu.Lock()
	delete(l.mem.m, account)
	l.mem.mu.Unlock()
	return nil
}

func (l *Lockout) do(ctx context.Context, account string, fail bool) (time.Time, error) {
	if l.cfg.store != nil {
		until, err := l.cfg.store.Update(ctx, account, fail, l.cfg.rules)
		if err == nil || !errors.Is(err, ErrUnavailable) {
			if err != nil {
				return time.Time{}, fmt.Errorf("lockout: %w", err)
			}
			return until, nil
		}
		switch l.cfg.policy {
		case ratelimit.FailClosed:
			return time.Time{}, err
		case ratelimit.FailOpen:
			return time.Time{}, nil
		}
	}
	return l.mem.do(&l.cfg.rules, l.cfg.maxKeys, account, l.now(), fail), nil
}
