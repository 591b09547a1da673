package lockout

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable is wrapped by a [Store]'s errors when its service (Redis)
// is unavailable: failed, slower than its timeout, or its circuit breaker
// open. The [Lockout]'s failure policy ([WithFailurePolicy]) then decides;
// under [ratelimit.FailClosed] the error reaches the caller, to be answered
// with 503.
var ErrUnavailable = errors.New("lockout: store unavailable")

// Rules are a [Lockout]'s settings, handed to its [Store] on every call so
// that the store holds state only.
type Rules struct {
	// MaxFailures within Window lock the account.
	MaxFailures int64
	// Window is counted from the first failure of a series.
	Window time.Duration
	// FirstLock is the first lock's length; each further lock doubles it,
	// up to LongestLock.
	FirstLock, LongestLock time.Duration
	// Memory is how long after its last lock an account's lock level is
	// remembered.
	Memory time.Duration
}

// lockDuration is the length of the level-th lock (level >= 1).
func (r *Rules) lockDuration(level int64) time.Duration {
	d := r.FirstLock
	for i := int64(1); i < level && d < r.LongestLock; i++ {
		d *= 2
	}
	return min(d, r.LongestLock)
}

// Store keeps lockout state shared by every replica; the Redis store of
// [github.com/covetgo/covet/ratelimit/lockout/redisstore] is one. A Store
// must be safe for concurrent use and apply each call atomically.
type Store interface {
	// Update returns when account's lock ends (the zero time when it is not
	// locked) and, when fail is true and the account is not locked,
	// records one failure under rules first.
	Update(ctx context.Context, account string, fail bool, rules Rules) (lockedUntil time.Time, err error)
	// Clear forgets account's failures, lock and lock level.
	Clear(ctx context.Context, account string) error
}
