package redisstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/covetgo/covet/internal/breaker"
)

// Defaults.
const (
	defaultKeyPrefix = "cachex:"
	defaultTimeout   = 100 * time.Millisecond
)

// Option configures a Store.
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
		prefix:    defaultKeyPrefix,
		timeout:   defaultTimeout,
		threshold: breaker.DefaultThreshold,
		cooldown:  breaker.DefaultCooldown,
		now:       defaultNow,
	}
}

// WithKeyPrefix puts every key, tag version and the invalidation channel
// under prefix (default "cachex:"); give each cache its own. An empty
// prefix is refused, and so is one holding '{' or '}': a hash tag in it
// would put every key of the cache in one Redis Cluster slot.
func WithKeyPrefix(prefix string) Option {
	return func(c *config) {
		switch {
		case prefix == "":
			c.errs = append(c.errs, fmt.Errorf("%w: WithKeyPrefix: empty prefix", ErrInvalidConfig))
		case strings.ContainsAny(prefix, "{}"):
			c.errs = append(c.errs, fmt.Errorf("%w: WithKeyPrefix(%q): must not hold '{' or '}'", ErrInvalidConfig, prefix))
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
