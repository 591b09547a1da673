package rediscache

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/covetgo/covet/internal/breaker"
)

// Defaults.
const (
	// DefaultKeyPrefix is the key prefix without WithKeyPrefix.
	DefaultKeyPrefix = "cachex:"
	// DefaultTimeout bounds each Redis call without WithTimeout.
	DefaultTimeout = 100 * time.Millisecond
)

// Option configures a Tier.
type Option func(*config)

type config struct {
	prefix    string
	timeout   time.Duration
	threshold int
	cooldown  time.Duration
	logger    *slog.Logger
	now       func() time.Time
	errs      []error
}

func defaultConfig() config {
	return config{
		prefix:    DefaultKeyPrefix,
		timeout:   DefaultTimeout,
		threshold: breaker.DefaultThreshold,
		cooldown:  breaker.DefaultCooldown,
		now:       defaultNow,
	}
}

// WithKeyPrefix puts every key, tag version and the invalidation channel
// under prefix (default "cachex:"). An empty prefix is refused: give each
// cache its own.
func WithKeyPrefix(prefix string) Option {
	return func(c *config) {
		if prefix == "" {
			c.errs = append(c.errs, fmt.Errorf("%w: WithKeyPrefix: empty prefix", ErrInvalidConfig))
		}
		c.prefix = prefix
	}
}

// WithTimeout bounds each Redis call (default 100 ms; the caller's deadline
// applies when sooner).
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithTimeout(%v): must be positive", ErrInvalidConfig, d))
		}
		c.timeout = d
	}
}

// WithBreaker sets the circuit breaker: after threshold consecutive failures
// Redis is not called for cooldown, then one probe call decides whether it
// closes again (defaults 5 failures and 2 s).
func WithBreaker(threshold int, cooldown time.Duration) Option {
	return func(c *config) {
		if threshold < 1 || cooldown <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithBreaker(%d, %v): want threshold >= 1 and a positive cooldown", ErrInvalidConfig, threshold, cooldown))
		}
		c.threshold, c.cooldown = threshold, cooldown
	}
}

// WithLogger sets where failed calls (Warn) and breaker changes (Error,
// Info) are logged (default slog.Default(), read by New).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

func (c *config) validate() error {
	return errors.Join(c.errs...)
}
