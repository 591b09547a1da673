package lockout

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
	"github.com/covetgo/covet/ratelimit"
)

// ErrInvalidConfig is wrapped by every constructor error caused by a bad
// argument or option.
var ErrInvalidConfig = errors.New("lockout: invalid configuration")

// ErrUnavailable is matched (errors.Is) by the errors of a Redis lockout
// with the [ratelimit.FailClosed] policy while Redis is unavailable; answer
// it with 503.
var ErrUnavailable = errors.New("lockout: redis unavailable")

var errBreakerOpen = errors.New("circuit breaker open")

// Defaults, each changed by the option named in its comment.
const (
	defaultMaxFailures  = 5                // WithMaxFailures
	defaultLockWindow   = 15 * time.Minute // WithFailureWindow
	defaultLockDuration = time.Minute      // WithLockDuration
	defaultMaxLock      = time.Hour        // WithLockDuration
	defaultLockMemory   = 24 * time.Hour   // WithLockMemory
	defaultMaxKeys      = 100_000          // WithMaxKeys
	defaultKeyPrefix    = "lockout:"       // WithKeyPrefix
	defaultTimeout      = 50 * time.Millisecond
	// maxPeriod bounds every duration, as ratelimit bounds its periods.
	maxPeriod = 366 * 24 * time.Hour
	// sweepEvery is how many failures a memory lockout records between
	// bounded sweeps; sweepBudget is how many entries one sweep may visit;
	// evictSample is how many entries are compared when a full lockout must
	// forget one.
	sweepEvery  = 256
	sweepBudget = 32
	evictSample = 8
)

// Option configures a [Lockout]. Options marked "Redis only" are refused by
// [New] with [ErrInvalidConfig] rather than ignored.
type Option func(*config)

type config struct {
	maxFailures int64
	window      time.Duration
	base, max   time.Duration
	memory      time.Duration
	prefix      string
	timeout     time.Duration
	maxKeys     int
	policy      ratelimit.FailurePolicy
	threshold   int
	cooldown    time.Duration
	logger      *slog.Logger
	redisOnly   []string // Redis-only options given, by name
}

// WithMaxFailures sets how many failures within the window lock an account
// (default 5).
func WithMaxFailures(n int) Option {
	return func(c *config) { c.maxFailures = int64(n) }
}

// WithFailureWindow sets the observation window: failures older than this,
// counted from the first failure of the window, are forgotten (default
// 15 minutes).
func WithFailureWindow(d time.Duration) Option {
	return func(c *config) { c.window = d }
}

// WithLockDuration sets the first lock's length and the longest a lock may
// grow to: each further lock, until a success or until the account has been
// quiet for the lock memory, doubles (defaults 1 minute and 1 hour).
func WithLockDuration(first, longest time.Duration) Option {
	return func(c *config) { c.base, c.max = first, longest }
}

// WithLockMemory sets how long after its last lock an account's lock level
// is remembered (default 24 hours).
func WithLockMemory(d time.Duration) Option {
	return func(c *config) { c.memory = d }
}

// WithMaxKeys caps the accounts tracked in memory (default 100,000): by a
// memory lockout, and by a Redis lockout's [ratelimit.LocalFallback]. At the
// cap, expired entries are dropped first; otherwise the entry closest to
// expiry among a small sample is forgotten.
func WithMaxKeys(n int) Option { return func(c *config) { c.maxKeys = n } }

// WithKeyPrefix sets the prefix of every Redis key (default "lockout:"); it
// must not contain '{' or '}'. Redis only.
func WithKeyPrefix(p string) Option {
	return func(c *config) { c.prefix = p; c.redisOnly = append(c.redisOnly, "WithKeyPrefix") }
}

// WithTimeout bounds each Redis call (default 50 ms). Redis only.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d; c.redisOnly = append(c.redisOnly, "WithTimeout") }
}

// WithFailurePolicy sets what the lockout decides while Redis fails, is
// slower than the timeout or its circuit breaker is open (default
// [ratelimit.LocalFallback]: each replica counts failures in its own memory,
// so guessing stays bounded per replica; [ratelimit.FailOpen] skips the
// lockout; [ratelimit.FailClosed] returns an error matching
// [ErrUnavailable]). Redis only.
func WithFailurePolicy(p ratelimit.FailurePolicy) Option {
	return func(c *config) { c.policy = p; c.redisOnly = append(c.redisOnly, "WithFailurePolicy") }
}

// WithBreaker sets the circuit breaker, which behaves as a
// [ratelimit.RedisStore]'s (defaults 5 failures and 2 s). Redis only.
func WithBreaker(threshold int, cooldown time.Duration) Option {
	return func(c *config) {
		c.threshold, c.cooldown = threshold, cooldown
		c.redisOnly = append(c.redisOnly, "WithBreaker")
	}
}

// WithLogger sets where breaker transitions are logged, once each (default
// slog.Default(), read at construction). Redis only: a memory lockout logs
// nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l; c.redisOnly = append(c.redisOnly, "WithLogger") }
}

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
	cfg    config
	mem    *lockMem
	client redis.UniversalClient
	brk    *breaker.Breaker
	aware  bool // the client stops at context deadlines by itself
	now    func() time.Time
}

func newConfig(opts []Option) (config, error) {
	c := config{
		maxFailures: defaultMaxFailures, window: defaultLockWindow,
		base: defaultLockDuration, max: defaultMaxLock, memory: defaultLockMemory,
		prefix: defaultKeyPrefix, timeout: defaultTimeout, maxKeys: defaultMaxKeys,
		policy: ratelimit.LocalFallback, threshold: breaker.DefaultThreshold, cooldown: breaker.DefaultCooldown,
	}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.maxFailures < 1:
		return c, fmt.Errorf("%w: max failures %d must be at least 1", ErrInvalidConfig, c.maxFailures)
	case c.window < time.Millisecond:
		return c, fmt.Errorf("%w: failure window %v must be at least 1ms", ErrInvalidConfig, c.window)
	case c.base < time.Millisecond || c.max < c.base:
		return c, fmt.Errorf("%w: lock durations %v..%v must be at least 1ms and in order", ErrInvalidConfig, c.base, c.max)
	case c.max > maxPeriod || c.window > maxPeriod || c.memory > maxPeriod:
		return c, fmt.Errorf("%w: lockout durations must not exceed %v", ErrInvalidConfig, maxPeriod)
	case c.memory < 0:
		return c, fmt.Errorf("%w: lock memory %v must not be negative", ErrInvalidConfig, c.memory)
	case strings.ContainsAny(c.prefix, "{}"):
		return c, fmt.Errorf("%w: key prefix %q must not contain '{' or '}'", ErrInvalidConfig, c.prefix)
	case c.timeout <= 0:
		return c, fmt.Errorf("%w: timeout %v must be positive", ErrInvalidConfig, c.timeout)
	case c.maxKeys < 1:
		return c, fmt.Errorf("%w: max keys %d must be positive", ErrInvalidConfig, c.maxKeys)
	case c.policy > ratelimit.LocalFallback:
		return c, fmt.Errorf("%w: unknown failure policy %v", ErrInvalidConfig, c.policy)
	case c.threshold < 1:
		return c, fmt.Errorf("%w: breaker threshold %d must be at least 1", ErrInvalidConfig, c.threshold)
	case c.cooldown <= 0:
		return c, fmt.Errorf("%w: breaker cooldown %v must be positive", ErrInvalidConfig, c.cooldown)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c, nil
}

// New returns a lockout kept in process memory (one replica only). The
// Redis-only options are refused.
func New(opts ...Option) (*Lockout, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if len(c.redisOnly) > 0 {
		return nil, fmt.Errorf("%w: %s applies to NewRedis only", ErrInvalidConfig, c.redisOnly[0])
	}
	return &Lockout{cfg: c, mem: &lockMem{m: make(map[string]*lockState)}, now: time.Now}, nil
}

// NewRedis returns a lockout shared through Redis: each call is one Lua
// script using Redis TIME, keys carry a hash tag and expire when idle. It
// does not contact Redis.
//
// Each call is bounded by the timeout. When Redis fails or is too slow the
// failure policy decides (default [ratelimit.LocalFallback]), and a circuit
// breaker stops an outage from costing the timeout on every login: after the
// threshold of consecutive failures Redis is left alone for the cooldown,
// then one call probes it. Each breaker transition is logged once.
func NewRedis(client redis.UniversalClient, opts ...Option) (*Lockout, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidConfig)
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	l := &Lockout{cfg: c, client: client, now: time.Now, mem: &lockMem{m: make(map[string]*lockState)},
		aware: redisdeadline.HonoursContext(client)}
	l.brk = breaker.New(c.threshold, c.cooldown, func() time.Time { return l.now() }, func(open bool, err error) {
		if open {
			c.logger.Error("lockout: redis unavailable, circuit breaker open",
				"err", err, "cooldown", c.cooldown, "policy", c.policy.String())
			return
		}
		c.logger.Info("lockout: redis available again, circuit breaker closed")
	})
	return l, nil
}

// redisFailed records a failed Redis call; it returns ctx's error instead
// when the caller gave up, which is not Redis's fault.
func (l *Lockout) redisFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("lockout: %w", ctx.Err())
	}
	l.brk.Failure(err)
	return nil
}

// unavailable is the FailClosed error.
func (l *Lockout) unavailable(err error) error {
	if err == nil {
		err = errBreakerOpen
	}
	return fmt.Errorf("lockout: %w: %w", ErrUnavailable, err)
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
	if l.client != nil {
		var err error
		if l.brk.Allow() {
			cctx, cancel := context.WithTimeout(ctx, l.cfg.timeout)
			err = redisdeadline.Do(cctx, l.aware, func(ctx context.Context) error {
				return l.client.Del(ctx, l.redisKey(account)).Err()
			})
			cancel()
			if err == nil {
				l.brk.Success()
				return nil
			}
			if cerr := l.redisFailed(ctx, err); cerr != nil {
				return cerr
			}
		}
		switch l.cfg.policy {
		case ratelimit.FailClosed:
			return l.unavailable(err)
		case ratelimit.FailOpen:
			return nil
		}
	}
	l.mem.mu.Lock()
	delete(l.mem.m, account)
	l.mem.mu.Unlock()
	return nil
}

func (l *Lockout) redisKey(account string) string { return l.cfg.prefix + "{" + account + "}" }

// lockDuration is the length of the level-th lock (level >= 1).
func (c *config) lockDuration(level int64) time.Duration {
	d := c.base
	for i := int64(1); i < level && d < c.max; i++ {
		d *= 2
	}
	return min(d, c.max)
}

var lockoutScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local fail = ARGV[1] == '1'
local maxf, window, base, maxd, memory = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', key, 'f', 'w', 'l', 'u')
local f, w, l, u = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0'), tonumber(v[4] or '0')
if u > now then return u end
if not fail then return 0 end
if now - w >= window then f = 0; w = now end
f = f + 1
local ttl = w + window - now
if f >= maxf then
  l = l + 1
  local d = base
  for i = 2, l do
    if d >= maxd then break end
    d = d * 2
  end
  if d > maxd then d = maxd end
  u = now + d
  f = 0
  w = 0
end
if l > 0 and u + memory - now > ttl then ttl = u + memory - now end
local function num(x) return string.format('%.0f', x) end
redis.call('HSET', key, 'f', num(f), 'w', num(w), 'l', num(l), 'u', num(u))
redis.call('PEXPIRE', key, num(ttl))
if u > now then return u end
return 0
`)

func (l *Lockout) do(ctx context.Context, account string, fail bool) (time.Time, error) {
	if l.client != nil {
		f := "0"
		if fail {
			f = "1"
		}
		var err error
		if l.brk.Allow() {
			cctx, cancel := context.WithTimeout(ctx, l.cfg.timeout)
			var ms int64
			err = redisdeadline.Do(cctx, l.aware, func(ctx context.Context) (err error) {
				ms, err = lockoutScript.Run(ctx, l.client, []string{l.redisKey(account)}, f,
					l.cfg.maxFailures, l.cfg.window.Milliseconds(), l.cfg.base.Milliseconds(),
					l.cfg.max.Milliseconds(), l.cfg.memory.Milliseconds()).Int64()
				return err
			})
			cancel()
			if err == nil {
				l.brk.Success()
				if ms == 0 {
					return time.Time{}, nil
				}
				return time.UnixMilli(ms), nil
			}
			if cerr := l.redisFailed(ctx, err); cerr != nil {
				return time.Time{}, cerr
			}
		}
		switch l.cfg.policy {
		case ratelimit.FailClosed:
			return time.Time{}, l.unavailable(err)
		case ratelimit.FailOpen:
			return time.Time{}, nil
		}
	}
	return l.mem.do(&l.cfg, account, l.now(), fail), nil
}

// lockMem is the in-process lockout state. Logins are rare enough that one
// mutex does not contend.
type lockMem struct {
	mu  sync.Mutex
	m   map[string]*lockState
	ops int
}

type lockState struct {
	fails, level int64
	start, until time.Time
	exp          time.Time
}

func (m *lockMem) do(c *config, account string, now time.Time, fail bool) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.m[account]
	if ok && !now.Before(st.exp) {
		delete(m.m, account)
		st, ok = nil, false
	}
	if ok && now.Before(st.until) {
		return st.until
	}
	if !fail {
		return time.Time{}
	}
	if !ok {
		if len(m.m) >= c.maxKeys {
			m.makeRoom(now)
		}
		st = &lockState{}
		m.m[account] = st
	}
	m.ops++
	if m.ops%sweepEvery == 0 {
		m.sweep(now, sweepBudget)
	}
	if now.Sub(st.start) >= c.window {
		st.fails, st.start = 0, now
	}
	st.fails++
	st.exp = st.start.Add(c.window)
	if st.fails >= c.maxFailures {
		st.level++
		st.until = now.Add(c.lockDuration(st.level))
		st.fails, st.start = 0, time.Time{}
	}
	if st.level > 0 {
		if e := st.until.Add(c.memory); e.After(st.exp) {
			st.exp = e
		}
	}
	if now.Before(st.until) {
		return st.until
	}
	return time.Time{}
}

func (m *lockMem) sweep(now time.Time, budget int) int {
	n := 0
	for k, st := range m.m {
		if budget == 0 {
			break
		}
		budget--
		if !now.Before(st.exp) {
			delete(m.m, k)
			n++
		}
	}
	return n
}

func (m *lockMem) makeRoom(now time.Time) {
	if m.sweep(now, sweepBudget) > 0 {
		return
	}
	var victim string
	var soonest time.Time
	i := 0
	for k, st := range m.m {
		if i == 0 || st.exp.Before(soonest) {
			victim, soonest = k, st.exp
		}
		i++
		if i == evictSample {
			break
		}
	}
	delete(m.m, victim)
}
