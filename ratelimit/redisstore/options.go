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
