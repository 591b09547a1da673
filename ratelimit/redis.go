package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/breaker"
	"github.com/covetgo/covet/internal/redisdeadline"
)

// Redis store defaults.
const (
	defaultRedisTimeout     = 50 * time.Millisecond
	defaultBreakerThreshold = breaker.DefaultThreshold
	defaultBreakerCooldown  = breaker.DefaultCooldown
	defaultKeyPrefix        = "ratelimit:"
)

// FailurePolicy says what a [RedisStore] decides when Redis fails, is
// slower than the per-call timeout, or the circuit breaker is open.
type FailurePolicy uint8

const (
	// FailOpen allows every request while Redis is unavailable.
	FailOpen FailurePolicy = iota
	// FailClosed denies every request while Redis is unavailable; the denial
	// asks the client to retry after the breaker's cooldown.
	FailClosed
	// LocalFallback decides with an in-process [MemoryStore] per replica, so
	// each replica enforces the full limit on its own until Redis is back.
	LocalFallback
)

// String returns "fail-open", "fail-closed" or "local-fallback".
func (p FailurePolicy) String() string {
	switch p {
	case FailOpen:
		return "fail-open"
	case FailClosed:
		return "fail-closed"
	case LocalFallback:
		return "local-fallback"
	}
	return "FailurePolicy(" + strconv.Itoa(int(p)) + ")"
}

// EventKind classifies a [RedisEvent].
type EventKind uint8

const (
	// EventError is a failed or timed-out Redis call.
	EventError EventKind = iota + 1
	// EventBreakerOpen is the breaker opening after consecutive failures.
	EventBreakerOpen
	// EventBreakerClosed is the breaker closing after a successful probe.
	EventBreakerClosed
	// EventPolicy is a decision made by the failure policy.
	EventPolicy
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventError:
		return "error"
	case EventBreakerOpen:
		return "breaker-open"
	case EventBreakerClosed:
		return "breaker-closed"
	case EventPolicy:
		return "policy"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// RedisEvent reports an outage-related happening to the hook set with
// [WithEventHook].
type RedisEvent struct {
	Kind   EventKind
	Policy FailurePolicy
	// Err is the Redis error for EventError and EventBreakerOpen.
	Err error
}

// RedisOption configures a [RedisStore].
type RedisOption func(*redisConfig)

type redisConfig struct {
	prefix    string
	timeout   time.Duration
	policy    FailurePolicy
	threshold int
	cooldown  time.Duration
	logger    *slog.Logger
	hook      func(RedisEvent)
	fallback  []MemoryOption
}

// WithKeyPrefix sets the prefix of every key (default "ratelimit:").
// It must not contain '{' or '}', which the store uses for the hash tag.
func WithKeyPrefix(p string) RedisOption { return func(c *redisConfig) { c.prefix = p } }

// WithTimeout bounds each Redis call (default 50 ms).
func WithTimeout(d time.Duration) RedisOption { return func(c *redisConfig) { c.timeout = d } }

// WithFailurePolicy sets what is decided while Redis is unavailable
// (default [FailOpen]).
func WithFailurePolicy(p FailurePolicy) RedisOption { return func(c *redisConfig) { c.policy = p } }

// WithBreaker sets the circuit breaker: after threshold consecutive failures
// Redis is not called for cooldown, then one probe call decides whether it
// closes again (defaults 5 failures and 2 s).
func WithBreaker(threshold int, cooldown time.Duration) RedisOption {
	return func(c *redisConfig) { c.threshold, c.cooldown = threshold, cooldown }
}

// WithLogger sets where errors and breaker changes are logged (default
// slog.Default()). Individual failures are logged at Warn until the breaker
// opens; decisions made while it is open are logged at Debug.
func WithLogger(l *slog.Logger) RedisOption { return func(c *redisConfig) { c.logger = l } }

// WithEventHook sets a function called synchronously for every outage event;
// it must be fast and safe for concurrent use.
func WithEventHook(f func(RedisEvent)) RedisOption { return func(c *redisConfig) { c.hook = f } }

// WithFallbackOptions configures the [MemoryStore] used by [LocalFallback];
// with another policy it is refused.
func WithFallbackOptions(opts ...MemoryOption) RedisOption {
	return func(c *redisConfig) { c.fallback = opts }
}

// RedisStore is a [Store] shared by every replica through Redis: each
// decision is one EVALSHA of one Lua script (reloaded automatically after
// NOSCRIPT) that reads Redis TIME, so replicas with skewed clocks agree, and
// sets a PEXPIRE so idle keys vanish. Keys carry a hash tag, so it works on
// Redis Cluster, and any [redis.UniversalClient] (single, Cluster, Sentinel)
// may be used.
//
// Each call is bounded by a timeout (or the caller's deadline, if sooner).
// Build the client with ContextTimeoutEnabled so that go-redis itself stops
// at the deadline: then calls that start within the same sixteenth of the
// timeout (at most 5 ms) share one deadline and one timer, so a deadline may
// be late by that much, and a caller cancelled during a call waits for it to
// end, at most the timeout. Otherwise each call runs in its own goroutine,
// abandoned at the deadline, which costs a little more per decision.
// Failures feed a circuit breaker so an outage costs one timeout per
// cooldown rather than per request, and the [FailurePolicy] decides in the
// meantime (such decisions have
// Decision.Degraded set and a nil error).
//
// A RedisStore is safe for concurrent use.
type RedisStore struct {
	client   redis.UniversalClient
	cfg      redisConfig
	fallback *MemoryStore
	now      func() time.Time
	ctxAware bool // client stops at context deadlines by itself

	lastArgs atomic.Pointer[argsCache]
	brk      *breaker.Breaker
	bound    *redisdeadline.Bound // per-call deadline
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store over client. It does not contact Redis.
func NewRedisStore(client redis.UniversalClient, opts ...RedisOption) (*RedisStore, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidConfig)
	}
	c := redisConfig{
		prefix:    defaultKeyPrefix,
		timeout:   defaultRedisTimeout,
		policy:    FailOpen,
		threshold: defaultBreakerThreshold,
		cooldown:  defaultBreakerCooldown,
	}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case strings.ContainsAny(c.prefix, "{}"):
		return nil, fmt.Errorf("%w: redis prefix %q must not contain '{' or '}'", ErrInvalidConfig, c.prefix)
	case c.timeout <= 0:
		return nil, fmt.Errorf("%w: timeout %v must be positive", ErrInvalidConfig, c.timeout)
	case c.policy > LocalFallback:
		return nil, fmt.Errorf("%w: unknown failure policy %v", ErrInvalidConfig, c.policy)
	case c.threshold < 1:
		return nil, fmt.Errorf("%w: breaker threshold %d must be at least 1", ErrInvalidConfig, c.threshold)
	case c.cooldown <= 0:
		return nil, fmt.Errorf("%w: breaker cooldown %v must be positive", ErrInvalidConfig, c.cooldown)
	case c.fallback != nil && c.policy != LocalFallback:
		return nil, fmt.Errorf("%w: WithFallbackOptions needs the LocalFallback policy", ErrInvalidConfig)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	s := &RedisStore{client: client, cfg: c, now: time.Now, ctxAware: redisdeadline.HonoursContext(client),
		bound: redisdeadline.NewBound(c.timeout)}
	s.brk = breaker.New(c.threshold, c.cooldown, func() time.Time { return s.now() }, func(open bool, err error) {
		if open {
			c.logger.Error("ratelimit: redis unavailable, circuit breaker open",
				"err", err, "cooldown", c.cooldown, "policy", c.policy.String())
			s.emit(RedisEvent{Kind: EventBreakerOpen, Policy: c.policy, Err: err})
			return
		}
		c.logger.Info("ratelimit: redis available again, circuit breaker closed")
		s.emit(RedisEvent{Kind: EventBreakerClosed, Policy: c.policy})
	})
	if c.policy == LocalFallback {
		fb, err := NewMemoryStore(c.fallback...)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: fallback store: %w", err)
		}
		s.fallback = fb
	}
	return s, nil
}

// takeScript decides one request. Times are microseconds from Redis TIME.
// Numbers passed to redis.call are integral and below 2^53, which Redis
// formats exactly (Lua's own tostring would not: it keeps 14 digits).
// KEYS[1] key; ARGV: algorithm, limit, period (µs), burst, cost.
// Returns {allowed, remaining, retry_after_us, reset_after_us}.
var takeScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local alg = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

if alg == 0 then
  local T = math.ceil(period / limit)
  local tau = burst * T
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  if cost > burst then
    return {0, math.floor((now + tau - tat) / T), period, tat - now}
  end
  local newtat = tat + cost * T
  local allow_at = newtat - tau
  if now < allow_at then
    return {0, math.floor((now + tau - tat) / T), allow_at - now, tat - now}
  end
  if newtat > now then
    redis.call('SET', key, newtat, 'PX', math.ceil((newtat - now) / 1000))
  end
  return {1, math.floor((now + tau - newtat) / T), 0, newtat - now}
end

local ws = now - (now % period)
if alg == 2 then
  -- One counter per window, expiring at the window's end (rounded up to the
  -- millisecond Redis keeps expiry in).
  local reset = ws + period - now
  if cost == 0 or cost > limit then
    local cur = tonumber(redis.call('GET', key) or '0')
    if cost == 0 then return {1, limit - cur, 0, reset} end
    return {0, limit - cur, period, reset}
  end
  local cur = redis.call('INCRBY', key, cost)
  if cur == cost then
    redis.call('PEXPIREAT', key, math.ceil((ws + period) / 1000))
  end
  if cur > limit then
    redis.call('DECRBY', key, cost)
    return {0, limit - (cur - cost), reset, reset}
  end
  return {1, limit - cur, 0, reset}
end

local v = redis.call('HMGET', key, 'w', 'c', 'p')
local w, cur, prev = tonumber(v[1] or '-1'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
if w ~= ws then
  if w == ws - period then prev = cur else prev = 0 end
  cur = 0
end
local elapsed = now - ws
local est = prev * (period - elapsed) / period + cur
local function resetafter(c)
  if c > 0 then return ws + 2 * period - now end
  if prev > 0 then return ws + period - now end
  return 0
end
if est + cost > limit then
  local rem = math.floor(limit - est)
  if rem < 0 then rem = 0 end
  local retry
  if cost > limit then
    retry = period
  elseif cur + cost > limit then
    retry = (ws + period - now) + math.ceil((1 - (limit - cost) / cur) * period)
  else
    retry = ws + math.ceil((1 - (limit - cost - cur) / prev) * period) - now
    if retry < 1 then retry = 1 end
  end
  return {0, rem, retry, resetafter(cur)}
end
cur = cur + cost
if cost > 0 or w ~= ws then
  redis.call('HSET', key, 'w', ws, 'c', cur, 'p', prev)
  redis.call('PEXPIRE', key, math.ceil((ws + 2 * period - now) / 1000))
end
local rem = math.floor(limit - est - cost)
if rem < 0 then rem = 0 end
return {1, rem, 0, resetafter(cur)}
`)

// redisKey wraps key in a hash tag so the whole key maps to one Cluster slot
// whatever the key contains.
func (s *RedisStore) redisKey(key string, alg Algorithm) string {
	var b strings.Builder
	b.Grow(len(s.cfg.prefix) + len(key) + 4)
	b.WriteString(s.cfg.prefix)
	b.WriteByte(byte('0' + alg))
	b.WriteString(":{")
	b.WriteString(key)
	b.WriteByte('}')
	return b.String()
}

// Take implements [Store]. Redis errors never reach the caller: the failure
// policy decides instead and the Decision is marked Degraded. Errors are
// returned only for an invalid rate, algorithm or cost, or for an error from
// the LocalFallback store.
func (s *RedisStore) Take(ctx context.Context, key string, r Rate, alg Algorithm, cost int64) (Decision, error) {
	if err := checkTake(r, alg, cost); err != nil {
		return Decision{}, err
	}
	if !s.allowCall() {
		return s.degraded(ctx, key, r, alg, cost)
	}
	res, err := s.run(ctx, []string{s.redisKey(key, alg)}, s.args(r, alg, cost)...)
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("ratelimit: unexpected script reply of %d values", len(res))
	}
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up (client went away); not Redis's fault.
			return Decision{}, ctx.Err()
		}
		s.recordFailure(err)
		return s.degraded(ctx, key, r, alg, cost)
	}
	s.recordSuccess()
	return Decision{
		Allowed:    res[0] == 1,
		Limit:      r.Limit,
		Period:     r.Period,
		Remaining:  res[1],
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		ResetAfter: time.Duration(res[3]) * time.Microsecond,
	}, nil
}

// argsCache holds the script arguments of the last rate seen, already boxed:
// a store usually serves one or a few rates, and boxing the large integers
// anew would cost three allocations per decision.
type argsCache struct {
	rate Rate
	alg  Algorithm
	args [4]any
}

// args returns the script arguments for r, alg and cost.
func (s *RedisStore) args(r Rate, alg Algorithm, cost int64) []any {
	c := s.lastArgs.Load()
	if c == nil || c.rate != r || c.alg != alg {
		c = &argsCache{rate: r, alg: alg, args: [4]any{int(alg), r.Limit, int64(r.Period / time.Microsecond), r.burst()}}
		s.lastArgs.Store(c)
	}
	return []any{c.args[0], c.args[1], c.args[2], c.args[3], cost}
}

type scriptResult struct {
	vals []int64
	err  error
}

// run runs the script within the per-call timeout. A client built with
// ContextTimeoutEnabled stops at the deadline by itself, and gets it from
// s.bound, which shares one timer among the calls that start within the
// same tick instead of starting one per call; the caller's cancellation is
// checked first, and a call in flight runs to its end or to the deadline.
// Any other client would wait for its own read and dial timeouts
// (seconds), so the call runs in a goroutine that is abandoned at the
// deadline, or when the caller gives up, and whose context is cancelled
// then so that go-redis stops its dials and waits for it.
func (s *RedisStore) run(ctx context.Context, keys []string, args ...any) ([]int64, error) {
	if s.ctxAware {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return takeScript.Run(s.bound.Context(ctx), s.client, keys, args...).Int64Slice()
	}
	cctx, cancel := context.WithTimeout(ctx, s.bound.Timeout())
	defer cancel()
	ch := make(chan scriptResult, 1)
	go func() {
		v, err := takeScript.Run(cctx, s.client, keys, args...).Int64Slice()
		ch <- scriptResult{v, err}
	}()
	select {
	case r := <-ch:
		return r.vals, r.err
	case <-cctx.Done():
		return nil, cctx.Err()
	}
}

// allowCall reports whether Redis may be called: the breaker is closed, or it
// is open past its cooldown and this caller wins the single probe.
func (s *RedisStore) allowCall() bool { return s.brk.Allow() }

// recordFailure counts a failure; the breaker opens at the threshold.
func (s *RedisStore) recordFailure(err error) {
	s.emit(RedisEvent{Kind: EventError, Policy: s.cfg.policy, Err: err})
	if !s.brk.Open() {
		s.cfg.logger.Warn("ratelimit: redis call failed", "err", err, "policy", s.cfg.policy.String())
	}
	s.brk.Failure(err)
}

func (s *RedisStore) recordSuccess() { s.brk.Success() }

func (s *RedisStore) emit(e RedisEvent) {
	if s.cfg.hook != nil {
		s.cfg.hook(e)
	}
}

// degraded decides by policy.
func (s *RedisStore) degraded(ctx context.Context, key string, r Rate, alg Algorithm, cost int64) (Decision, error) {
	s.emit(RedisEvent{Kind: EventPolicy, Policy: s.cfg.policy})
	if s.cfg.logger.Enabled(ctx, slog.LevelDebug) {
		s.cfg.logger.DebugContext(ctx, "ratelimit: decided by failure policy", "policy", s.cfg.policy.String())
	}
	switch s.cfg.policy {
	case LocalFallback:
		d, err := s.fallback.Take(ctx, key, r, alg, cost)
		d.Degraded = true
		return d, err
	case FailClosed:
		return Decision{
			Limit: r.Limit, Period: r.Period, Degraded: true,
			RetryAfter: s.cfg.cooldown, ResetAfter: s.cfg.cooldown,
		}, nil
	}
	return Decision{Allowed: true, Limit: r.Limit, Period: r.Period, Remaining: r.Limit, Degraded: true}, nil
}
