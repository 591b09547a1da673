package redisstore

import (
	"log/slog"
	"time"
)

// Defaults, each changed by the option named in its comment.
const (
	defaultKeyPrefix = "lockout:"            // WithKeyPrefix
	defaultTimeout   = 50 * time.Millisecond // WithTimeout
)

// Option configures a [Store].
type Option func(*config)

type config struct {
	prefix         string
	timeout        time.Duration
	threshold      int
	cooldown       time.Duration
	logger         *slog.Logger
	loggerNil      bool // WithLogger(nil) was given
	allowEvictable bool
}

// WithKeyPrefix sets the prefix of every key (default "lockout:"); it must
// not contain '{' or '}', which the store uses for the hash tag.
func WithKeyPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithTimeout bounds each Redis call (default 50 ms).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithBreaker sets the circuit breaker, which behaves as every covet Redis
// client's: after threshold consecutive failures Redis is left alone for
// cooldown, then one call probes it (defaults 5 failures and 2 s).
func WithBreaker(threshold int, cooldown time.Duration) Option {
	return func(c *config) { c.threshold, c.cooldown = threshold, cooldown }
}

// WithLogger sets where breaker transitions and the eviction warnings are
// logged, once each (default slog.Default(), read at construction; nil is
// refused).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l; c.loggerNil = c.loggerNil || l == nil }
}

// WithEvictionAllowed lets [New] accept a Redis whose maxmemory-policy may
// evict keys, with a warning logged once. Eviction forgets locks and failure
// counts, which lets a password guesser go on: use it only where that is
// understood and accepted (a cache-only Redis in development, say).
func WithEvictionAllowed() Option { return func(c *config) { c.allowEvictable = true } }
