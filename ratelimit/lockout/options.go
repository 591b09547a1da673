package lockout

import (
	"fmt"
	"time"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/covetgo/covet/ratelimit"
)

// Defaults, each changed by the option named in its comment.
const (
	defaultMaxFailures  = 5                // WithMaxFailures
	defaultLockWindow   = 15 * time.Minute // WithFailureWindow
	defaultLockDuration = time.Minute      // WithLockDuration
	defaultMaxLock      = time.Hour        // WithLockDuration
	defaultLockMemory   = 24 * time.Hour   // WithLockMemory
	defaultMaxKeys      = 100_000          // WithMaxKeys
	// maxPeriod bounds every duration, as ratelimit bounds its periods.
	maxPeriod = 366 * 24 * time.Hour
)

// Option configures a [Lockout]. An option that does not apply to the
// lockout being built (a failure policy without a store, say) is refused
// by [New] with [ErrInvalidConfig] rather than ignored.
type Option func(*config)

type config struct {
	rules     Rules
	maxKeys   int
	store     Store
	policy    ratelimit.FailurePolicy
	given     map[string]bool // options given, by name, for those that apply only sometimes
	nilOption string          // the first option given a nil argument, by name
}

// WithMaxFailures sets how many failures within the window lock an account
// (default 5).
func WithMaxFailures(n int) Option {
	return func(c *config) { c.rules.MaxFailures = int64(n) }
}

// WithFailureWindow sets the observation window: failures older than this,
// counted from the first failure of the window, are forgotten (default
// 15 minutes).
func WithFailureWindow(d time.Duration) Option {
	return func(c *config) { c.rules.Window = d }
}

// WithLockDuration sets the first lock's length and the longest a lock may
// grow to: each further lock, until a success or until the account has been
// quiet for the lock memory, doubles (defaults 1 minute and 1 hour).
func WithLockDuration(first, longest time.Duration) Option {
	return func(c *config) { c.rules.FirstLock, c.rules.LongestLock = first, longest }
}

// WithLockMemory sets how long after its last lock an account's lock level
// is remembered (default 24 hours).
func WithLockMemory(d time.Duration) Option {
	return func(c *config) { c.rules.Memory = d }
}

// WithMaxKeys caps the accounts tracked in process memory (default
// 100,000): by a lockout without a store, and by the
// [ratelimit.LocalFallback] of one with a store (with another policy it is
// refused). At the cap, expired entries are dropped first; otherwise the
// entry closest to expiry among a small sample is forgotten.
func WithMaxKeys(n int) Option {
	return func(c *config) { c.maxKeys = n; c.given["WithMaxKeys"] = true }
}

// WithStore keeps the lockout's state in s, shared by every replica,
// instead of in process memory. A nil s (or a nil pointer in the
// interface) is refused.
func WithStore(s Store) Option {
	return func(c *config) {
		c.store = s
		if typednil.Is(s) && c.nilOption == "" {
			c.nilOption = "WithStore"
		}
	}
}

// WithFailurePolicy sets what the lockout decides while its store is
// unavailable (an error wrapping [ErrUnavailable]): [ratelimit.LocalFallback]
// (the default: each replica counts failures in its own memory, so guessing
// stays bounded per replica), [ratelimit.FailOpen] (the lockout is skipped)
// or [ratelimit.FailClosed] (the store's error is returned). It applies only
// with [WithStore].
func WithFailurePolicy(p ratelimit.FailurePolicy) Option {
	return func(c *config) { c.policy = p; c.given["WithFailurePolicy"] = true }
}

func newConfig(opts []Option) (config, error) {
	c := config{
		rules: Rules{
			MaxFailures: defaultMaxFailures, Window: defaultLockWindow,
			FirstLock: defaultLockDuration, LongestLock: defaultMaxLock, Memory: defaultLockMemory,
		},
		maxKeys: defaultMaxKeys,
		policy:  ratelimit.LocalFallback,
		given:   map[string]bool{},
	}
	for i, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: option %d is nil", ErrInvalidConfig, i)
		}
		o(&c)
	}
	r := c.rules
	switch {
	case c.nilOption != "":
		return c, fmt.Errorf("%w: %s: store is nil", ErrInvalidConfig, c.nilOption)
	case r.MaxFailures < 1:
		return c, fmt.Errorf("%w: max failures %d must be at least 1", ErrInvalidConfig, r.MaxFailures)
	case r.Window < time.Millisecond:
		return c, fmt.Errorf("%w: failure window %v must be at least 1ms", ErrInvalidConfig, r.Window)
	case r.FirstLock < time.Millisecond || r.LongestLock < r.FirstLock:
		return c, fmt.Errorf("%w: lock durations %v..%v must be at least 1ms and in order", ErrInvalidConfig, r.FirstLock, r.LongestLock)
	case r.LongestLock > maxPeriod || r.Window > maxPeriod || r.Memory > maxPeriod:
		return c, fmt.Errorf("%w: lockout durations must not exceed %v", ErrInvalidConfig, maxPeriod)
	case r.Memory < 0:
		return c, fmt.Errorf("%w: lock memory %v must not be negative", ErrInvalidConfig, r.Memory)
	case c.maxKeys < 1:
		return c, fmt.Errorf("%w: max keys %d must be positive", ErrInvalidConfig, c.maxKeys)
	case c.policy > ratelimit.LocalFallback:
		return c, fmt.Errorf("%w: unknown failure policy %v", ErrInvalidConfig, c.policy)
	case c.store == nil && c.given["WithFailurePolicy"]:
		return c, fmt.Errorf("%w: WithFailurePolicy applies only with WithStore", ErrInvalidConfig)
	case c.store != nil && c.policy != ratelimit.LocalFallback && c.given["WithMaxKeys"]:
		return c, fmt.Errorf("%w: WithMaxKeys applies only to memory: no store, or the LocalFallback policy", ErrInvalidConfig)
	}
	return c, nil
}
