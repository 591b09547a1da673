package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/breaker"
	"github.com/covetgo/covet/internal/redisdeadline"
	"github.com/covetgo/covet/internal/typednil"
	"github.com/covetgo/covet/jwtauth"
)

// ErrInvalidConfig is wrapped by every error of [New] caused by a bad
// argument or option, and by its refusal of a Redis that may evict keys.
var ErrInvalidConfig = errors.New("redisstore: invalid configuration")

// Defaults, each changed by the option named in its comment.
const (
	// defaultTimeout bounds each call ([WithTimeout]).
	defaultTimeout = 250 * time.Millisecond
	// defaultKeyPrefix starts every key ([WithKeyPrefix]).
	defaultKeyPrefix = "jwtauth:"
	// checkTimeout bounds the eviction policy check in [New] when it is
	// longer than the call timeout: the first command also dials.
	checkTimeout = 2 * time.Second
)

var errBreakerOpen = errors.New("circuit breaker open")

// Option configures [New]. The options of jwtauth.New are a different type,
// so one given to the wrong constructor does not compile.
type Option func(*config)

type config struct {
	prefix        string
	timeout       time.Duration
	threshold     int
	cooldown      time.Duration
	logger        *slog.Logger
	allowEviction bool
	mirror        bool
	// Tests only: the client the mirror subscribes with (default the
	// store's) and its first retry delay.
	subClient        redis.UniversalClient
	mirrorMinBackoff time.Duration
	onState          func(synced bool)
	onApply          func(member string)
}

// WithKeyPrefix sets the prefix of every key (default "jwtauth:"), so
// services sharing a Redis keep apart. It must not contain braces, which
// Redis Cluster reads as a hash tag.
func WithKeyPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithTimeout bounds each Redis call (default 250 ms). It must be positive.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithBreaker sets the circuit breaker: after threshold consecutive
// failures Redis is not called for cooldown, then one call probes it
// (defaults 5 and 2 s, the same behaviour as every covet Redis client).
func WithBreaker(threshold int, cooldown time.Duration) Option {
	return func(c *config) { c.threshold, c.cooldown = threshold, cooldown }
}

// WithLogger sets where breaker transitions and the eviction warnings of
// [New] are logged, once each (default slog.Default(), read when the store
// is built; nil means the default).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithEvictionAllowed lets [New] accept a Redis whose maxmemory-policy may
// evict this store's keys, which it otherwise refuses; it then logs a
// warning once. Every key here carries a TTL, so the volatile-* policies
// evict them as readily as the allkeys-* ones. Use it only where a revoked
// token working again, or a stolen refresh token's reuse going unnoticed,
// is acceptable (a test Redis, a cache-only instance you accept that risk
// on); the package overview says what eviction costs.
func WithEvictionAllowed() Option { return func(c *config) { c.allowEviction = true } }

var (
	_ jwtauth.RefreshStore = (*Store)(nil)
	_ jwtauth.Denylist     = (*Store)(nil)
)

// Store is a [jwtauth.RefreshStore] and [jwtauth.Denylist] in Redis, shared
// by every instance of a service. Each record expires with the token it
// describes (PXAT), so nothing needs sweeping. A family's keys share a hash
// tag, so a rotation is one atomic script on one node, also on Redis
// Cluster. Needs Redis 6.2 or later, with maxmemory-policy noeviction (see
// the package overview). Safe for concurrent use.
//
// Every call has its own deadline ([WithTimeout]) and passes through a
// circuit breaker, so an outage costs one timeout per cooldown rather than
// one per request. Failures return errors matching
// [jwtauth.ErrStoreUnavailable]: refresh fails closed (503), and the
// denylist fails closed too unless the [jwtauth.Auth] was built with
// [jwtauth.WithDenylistFailOpen].
//
// With [WithLocalMirror], Revoked answers from a copy of the denylist in
// memory; [Store.Close] stops the goroutine that keeps it fresh.
type Store struct {
	c      redis.UniversalClient
	cfg    config
	brk    *breaker.Breaker
	aware  bool    // the client stops at context deadlines by itself
	mirror *mirror // nil without WithLocalMirror

	stop      func() // stops the mirror's goroutine
	closeOnce sync.Once
}

// New returns a store over client. It asks Redis for its maxmemory-policy
// (bounded by ctx and a couple of seconds) and refuses, with an error
// wrapping [ErrInvalidConfig], a policy that may evict keys unless
// [WithEvictionAllowed] is given. When Redis refuses CONFIG (managed Redis
// often does) or cannot be reached, New logs a warning and returns the
// store: the policy is then the operator's to check, and a Redis that is
// down at startup must not stop the service from starting.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	if typednil.Is(client) {
		return nil, fmt.Errorf("%w: client: nil redis client (%T)", ErrInvalidConfig, client)
	}
	c := config{prefix: defaultKeyPrefix, timeout: defaultTimeout, threshold: breaker.DefaultThreshold, cooldown: breaker.DefaultCooldown}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case strings.ContainsAny(c.prefix, "{}"):
		return nil, fmt.Errorf("%w: key prefix %q must not contain braces", ErrInvalidConfig, c.prefix)
	case c.timeout <= 0:
		return nil, fmt.Errorf("%w: timeout %v must be positive", ErrInvalidConfig, c.timeout)
	case c.threshold < 1:
		return nil, fmt.Errorf("%w: breaker threshold %d must be at least 1", ErrInvalidConfig, c.threshold)
	case c.cooldown <= 0:
		return nil, fmt.Errorf("%w: breaker cooldown %v must be positive", ErrInvalidConfig, c.cooldown)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	s := &Store{c: client, cfg: c, aware: redisdeadline.HonoursContext(client)}
	if err := s.checkEviction(ctx); err != nil {
		return nil, err
	}
	s.brk = breaker.New(c.threshold, c.cooldown, nil, func(open bool, err error) {
		if open {
			c.logger.Error("redisstore: redis unavailable, circuit breaker open", "err", err, "cooldown", c.cooldown)
			return
		}
		c.logger.Info("redisstore: redis available again, circuit breaker closed")
	})
	if c.mirror {
		s.mirror = newMirror()
		s.mirror.onState, s.mirror.onApply = c.onState, c.onApply
		sub := c.subClient
		if sub == nil {
			sub = client
		}
		s.startMirror(sub)
	}
	return s, nil
}

// call runs fn under the per-call deadline and the breaker. A caller that
// gave up (ctx done) is not counted against Redis.
func (s *Store) call(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.callTimeout(ctx, s.cfg.timeout, fn)
}

// callTimeout is call with another deadline.
func (s *Store) callTimeout(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	if !s.brk.Allow() {
		return fmt.Errorf("%w: %w", jwtauth.ErrStoreUnavailable, errBreakerOpen)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	err := redisdeadline.Do(cctx, s.aware, fn)
	cancel()
	if err == nil || errors.Is(err, redis.Nil) {
		s.brk.Success()
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("redisstore: %w", ctx.Err())
	}
	s.brk.Failure(err)
	return fmt.Errorf("%w: redis: %w", jwtauth.ErrStoreUnavailable, err)
}
