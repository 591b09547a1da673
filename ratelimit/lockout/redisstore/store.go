package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/breaker"
	"github.com/covetgo/covet/internal/redisdeadline"
	"github.com/covetgo/covet/internal/redisevict"
	"github.com/covetgo/covet/internal/typednil"
	"github.com/covetgo/covet/ratelimit/lockout"
)

// ErrInvalidConfig is wrapped by every [New] error caused by a bad argument,
// an option or a Redis that may evict keys.
var ErrInvalidConfig = errors.New("lockout/redisstore: invalid configuration")

var errBreakerOpen = errors.New("circuit breaker open")

// checkTimeout bounds the eviction check [New] makes, within the caller's
// context.
const checkTimeout = 2 * time.Second

// Store is a [lockout.Store] in Redis: each call is one Lua script using
// Redis TIME, keys carry a hash tag (so Redis Cluster works) and expire when
// idle. Each call is bounded by the timeout; failures feed a circuit
// breaker, and every error caused by Redis wraps [lockout.ErrUnavailable]
// so that the [lockout.Lockout]'s failure policy decides. A Store is safe for
// concurrent use.
type Store struct {
	client redis.UniversalClient
	cfg    config
	brk    *breaker.Breaker
	aware  bool // the client stops at context deadlines by itself
	now    func() time.Time
}

var _ lockout.Store = (*Store)(nil)

// New returns a store over client, after reading the server's
// maxmemory-policy (within ctx and at most 2 s):
//
//   - a policy that may evict keys (anything but noeviction) is refused
//     with an error wrapping [ErrInvalidConfig], unless
//     [WithEvictionAllowed] is given; then a warning is logged;
//   - a server that refuses CONFIG (managed Redis services often do) cannot
//     be checked: a warning is logged and the store is returned;
//   - a server that cannot be reached is logged likewise, so that a replica
//     starts during an outage; its lockout then runs on its failure policy
//     until Redis answers, and the policy is not checked again.
//
// A nil client (or a nil pointer in the interface) and every invalid option
// are refused with an error wrapping [ErrInvalidConfig].
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	if typednil.Is(client) {
		return nil, fmt.Errorf("%w: client is nil", ErrInvalidConfig)
	}
	c := config{
		prefix: defaultKeyPrefix, timeout: defaultTimeout,
		threshold: breaker.DefaultThreshold, cooldown: breaker.DefaultCooldown,
	}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: option %d is nil", ErrInvalidConfig, i)
		}
		o(&c)
	}
	switch {
	case strings.ContainsAny(c.prefix, "{}"):
		return nil, fmt.Errorf("%w: key prefix %q must not contain '{' or '}'", ErrInvalidConfig, c.prefix)
	case c.timeout <= 0:
		return nil, fmt.Errorf("%w: timeout %v must be positive", ErrInvalidConfig, c.timeout)
	case c.threshold < 1:
		return nil, fmt.Errorf("%w: breaker threshold %d must be at least 1", ErrInvalidConfig, c.threshold)
	case c.cooldown <= 0:
		return nil, fmt.Errorf("%w: breaker cooldown %v must be positive", ErrInvalidConfig, c.cooldown)
	case c.loggerNil:
		return nil, fmt.Errorf("%w: WithLogger: logger is nil", ErrInvalidConfig)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	s := &Store{client: client, cfg: c, now: time.Now, aware: redisdeadline.HonoursContext(client)}
	if err := s.checkEviction(ctx); err != nil {
		return nil, err
	}
	s.brk = breaker.New(c.threshold, c.cooldown, func() time.Time { return s.now() }, func(open bool, err error) {
		if open {
			c.logger.Error("lockout: redis unavailable, circuit breaker open", "err", err, "cooldown", c.cooldown)
			return
		}
		c.logger.Info("lockout: redis available again, circuit breaker closed")
	})
	return s, nil
}

// checkEviction refuses a Redis that may evict keys, unless allowed.
func (s *Store) checkEviction(ctx context.Context) error {
	err := redisevict.Enforce(ctx, s.client, redisevict.Requirement{
		Name:    "lockout/redisstore",
		Keeps:   "lockout keys (forgetting locks)",
		Loss:    "locks can be forgotten",
		Refuse:  true,
		Allowed: s.cfg.allowEvictable,
		Aware:   s.aware,
		Timeout: checkTimeout,
		Logger:  s.cfg.logger,
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

func (s *Store) redisKey(account string) string { return s.cfg.prefix + "{" + account + "}" }

// failed records a failed Redis call and returns the error to report: the
// caller's own when it gave up (not Redis's fault), else one wrapping
// [lockout.ErrUnavailable].
func (s *Store) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("lockout/redisstore: %w", ctx.Err())
	}
	s.brk.Failure(err)
	return fmt.Errorf("lockout/redisstore: %w: %w", lockout.ErrUnavailable, err)
}

// Update implements [lockout.Store].
func (s *Store) Update(ctx context.Context, account string, fail bool, r lockout.Rules) (time.Time, error) {
	if !s.brk.Allow() {
		return time.Time{}, fmt.Errorf("lockout/redisstore: %w: %w", lockout.ErrUnavailable, errBreakerOpen)
	}
	f := "0"
	if fail {
		f = "1"
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	var ms int64
	err := redisdeadline.Do(cctx, s.aware, func(ctx context.Context) (err error) {
		ms, err = lockoutScript.Run(ctx, s.client, []string{s.redisKey(account)}, f,
			r.MaxFailures, r.Window.Milliseconds(), r.FirstLock.Milliseconds(),
			r.LongestLock.Milliseconds(), r.Memory.Milliseconds()).Int64()
		return err
	})
	cancel()
	if err != nil {
		return time.Time{}, s.failed(ctx, err)
	}
	s.brk.Success()
	if ms == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(ms), nil
}

// Clear implements [lockout.Store].
func (s *Store) Clear(ctx context.Context, account string) error {
	if !s.brk.Allow() {
		return fmt.Errorf("lockout/redisstore: %w: %w", lockout.ErrUnavailable, errBreakerOpen)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	err := redisdeadline.Do(cctx, s.aware, func(ctx context.Context) error {
		return s.client.Del(ctx, s.redisKey(account)).Err()
	})
	cancel()
	if err != nil {
		return s.failed(ctx, err)
	}
	s.brk.Success()
	return nil
}
