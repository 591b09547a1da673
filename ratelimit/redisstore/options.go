package redisstore

import (
	"log/slog"
	"time"

	"github.com/covetgo/covet/ratelimit"
)

// Defaults, each changed by the option named in its comment.
const (
	defaultTimeout   = 50 * time.Millisecond // WithTimeout
	defaultKeyPrefix = "ratelimit:"          // WithKeyPrefix
)

// Option configures a [Store].
type Option func(*config)

type config struct {
	prefix    string
	timeout   time.Duration
	policy    ratelimit.FailurePolicy
	threshold int
	cooldown  time.Duration
	logger    *slog.Logger
	loggerNil bool // WithLogger(nil) was given
	hook      func(Event)
	fallback  []ratelimit.MemoryOption
	batch     int64         // WithLease; 0: exact
	maxAge    time.Duration // WithLease
	leaseSet  bool
}

// WithKeyPrefix sets the prefix of every key (default "ratelimit:").
// It must not contain '{' or '}', which the store uses for the hash tag.
func WithKeyPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithTimeout bounds each Redis call (default 50 ms).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithFailurePolicy sets what is decided while Redis is unavailable
// (default [ratelimit.FailOpen]).
func WithFailurePolicy(p ratelimit.FailurePolicy) Option {
	return func(c *config) { c.policy = p }
}

// WithBreaker sets the circuit breaker: after threshold consecutive failures
// Redis is not called for cooldown, then one probe call decides whether it
// closes again (defaults 5 failures and 2 s).
func WithBreaker(threshold int, cooldown time.Duration) Option {
	return func(c *config) { c.threshold, c.cooldown = threshold, cooldown }
}

// WithLogger sets where errors, breaker changes and the eviction warning are
// logged (default slog.Default(), read at construction; nil is refused).
// Individual failures are logged at Warn until the breaker opens; decisions
// made while it is open are logged at Debug.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l; c.loggerNil = c.loggerNil || l == nil }
}

// WithEventHook sets a function called synchronously for every outage event;
// it must be fast and safe for concurrent use.
func WithEventHook(f func(Event)) Option { return func(c *config) { c.hook = f } }

// WithFallbackOptions configures the [ratelimit.MemoryStore] used by
// [ratelimit.LocalFallback]; with another policy it is refused.
func WithFallbackOptions(opts ...ratelimit.MemoryOption) Option {
	return func(c *config) { c.fallback = opts }
}

// WithLease turns on the lease mode: instead of one Redis round trip per
// decision, the store takes allowance from Redis for many decisions on a
// key in one atomic call and spends it locally. Each unit keeps the expiry
// of the call that leased it: maxAge after the call was sent and, for the
// window algorithms, not beyond the window it was taken in.
//
// A lease is batch units, or, for a key this replica spends faster, what it
// spends on the key in a tenth of maxAge at its recent rate (measured over
// up to maxAge), so that a hot key's lease lasts about a tenth of maxAge; it
// never exceeds a tenth of the key's quota (Burst for GCRA, Limit for the
// windows), nor falls short of the cost asked for. When a decision leaves a
// key's lease below half of the next lease, the replica refills it in the
// background, so a hot key's callers keep spending what is left and do not
// wait for Redis; callers that find the lease spent wait for the call in
// flight for the key instead of making their own, and the units they wait
// for size the next call (within the same tenth of the quota), so a burst
// on a key whose lease is still the batch (a new key, or one back from
// idle) is served in two round trips, not one per batch. A replica therefore holds
// less than one and a half leases of a key: what was left when it refilled,
// and the lease it refilled with. A refusal is remembered until its retry
// time, so a key over its limit costs a replica one call per refill
// interval, not one per request; it refuses only what the units held cannot
// pay.
//
// The limit stays global: every unit spent locally was first counted in
// Redis; what changes is when. Over-admission, per key: none for the
// window algorithms, whose units end with the window they were counted in
// (each unit is spent no earlier than counted and in the same window, so
// the counts Redis decided on bound what is spent at every moment). For
// [ratelimit.GCRA] a unit counted before an interval may be spent in it, so
// any interval may see up to min(1.5 × replicas × lease size, Limit ×
// maxAge / Period) more than the exact mode allows there; over a long run
// nothing more is admitted. Under-admission: units leased and not spent
// are not returned but lapse (at maxAge or the window's end), so up to
// 1.5 × (replicas − 1) × lease size may be refused that the exact mode
// would have allowed. In both, lease size is at most max(batch, a tenth of
// maxAge of the replica's own spending on the key), and at most a tenth of
// the quota. Remaining (which includes the units this replica holds) and
// ResetAfter are as of the last Redis answer.
//
// A decision paid from a lease needs no Redis call, so it goes on while
// Redis is unavailable until the lease is spent or lapses; the background
// refills fail meanwhile and count towards the breaker, each bounded by
// the timeout like any other call; then the failure policy, timeout and
// breaker apply as in the exact mode.
//
// Use it for high-rate limits where a few units of slack are acceptable
// (a global per-client limit); keep exact stores, without this option, for
// limits that must hold to the unit (logins, lockouts). A cost of 0 always
// asks Redis. batch must be at least 1 and maxAge positive.
func WithLease(batch int64, maxAge time.Duration) Option {
	return func(c *config) { c.batch, c.maxAge, c.leaseSet = batch, maxAge, true }
}
