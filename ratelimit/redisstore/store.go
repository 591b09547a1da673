package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/breaker"
	"github.com/covetgo/covet/internal/redisdeadline"
	"github.com/covetgo/covet/internal/redisevict"
	"github.com/covetgo/covet/internal/typednil"
	"github.com/covetgo/covet/ratelimit"
)

// ErrInvalidConfig is wrapped by every [New] error caused by a bad argument
// or option.
var ErrInvalidConfig = errors.New("ratelimit/redisstore: invalid configuration")

// checkTimeout bounds the eviction check [New] makes, within the caller's
// context.
const checkTimeout = 2 * time.Second

// Store is a [ratelimit.Store] shared by every replica through Redis: each
// decision (with [WithLease], each batch of decisions) is one EVALSHA of one
// Lua script (reloaded automatically after NOSCRIPT) that reads Redis TIME,
// so replicas with skewed clocks agree, and sets a PEXPIRE so idle keys
// vanish. Keys carry a hash tag, so it works on
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
// cooldown rather than per request, and the [ratelimit.FailurePolicy]
// decides in the meantime (such decisions have Decision.Degraded set and a
// nil error).
//
// A Store is safe for concurrent use.
type Store struct {
	client   redis.UniversalClient
	cfg      config
	fallback *ratelimit.MemoryStore
	now      func() time.Time
	ctxAware bool // client stops at context deadlines by itself

	lastArgs atomic.Pointer[argsCache]
	brk      *breaker.Breaker
	bound    *redisdeadline.Bound // per-call deadline
	leases   *leases              // WithLease; nil: exact
	epoch    time.Time            // origin of clock()
	fills    sync.WaitGroup       // background lease calls, each ending within the timeout
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a store over client. Its only Redis call reads the server's
// maxmemory-policy, within ctx and at most 2 s: a policy that lets Redis
// evict keys is logged as a warning (an evicted counter resets a limit
// early, see the package documentation), as is a failed or refused check;
// neither stops construction. A nil client (or a nil pointer in the
// interface) and every invalid option are refused with an error wrapping
// [ErrInvalidConfig].
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	if typednil.Is(client) {
		return nil, fmt.Errorf("%w: client is nil", ErrInvalidConfig)
	}
	c := config{
		prefix:    defaultKeyPrefix,
		timeout:   defaultTimeout,
		policy:    ratelimit.FailOpen,
		threshold: breaker.DefaultThreshold,
		cooldown:  breaker.DefaultCooldown,
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
	case c.policy > ratelimit.LocalFallback:
		return nil, fmt.Errorf("%w: unknown failure policy %v", ErrInvalidConfig, c.policy)
	case c.threshold < 1:
		return nil, fmt.Errorf("%w: breaker threshold %d must be at least 1", ErrInvalidConfig, c.threshold)
	case c.cooldown <= 0:
		return nil, fmt.Errorf("%w: breaker cooldown %v must be positive", ErrInvalidConfig, c.cooldown)
	case c.fallback != nil && c.policy != ratelimit.LocalFallback:
		return nil, fmt.Errorf("%w: WithFallbackOptions needs the ratelimit.LocalFallback policy", ErrInvalidConfig)
	case c.leaseSet && c.batch < 1:
		return nil, fmt.Errorf("%w: WithLease: batch %d must be at least 1", ErrInvalidConfig, c.batch)
	case c.leaseSet && c.maxAge <= 0:
		return nil, fmt.Errorf("%w: WithLease: maxAge %v must be positive", ErrInvalidConfig, c.maxAge)
	case c.loggerNil:
		return nil, fmt.Errorf("%w: WithLogger: logger is nil", ErrInvalidConfig)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	s := &Store{client: client, cfg: c, now: time.Now, ctxAware: redisdeadline.HonoursContext(client),
		bound: redisdeadline.NewBound(c.timeout)}
	s.brk = breaker.New(c.threshold, c.cooldown, func() time.Time { return s.now() }, func(open bool, err error) {
		if open {
			c.logger.Error("ratelimit: redis unavailable, circuit breaker open",
				"err", err, "cooldown", c.cooldown, "policy", c.policy.String())
			s.emit(Event{Kind: EventBreakerOpen, Policy: c.policy, Err: err})
			return
		}
		c.logger.Info("ratelimit: redis available again, circuit breaker closed")
		s.emit(Event{Kind: EventBreakerClosed, Policy: c.policy})
	})
	if c.leaseSet {
		s.leases = newLeases(c.batch, c.maxAge)
		s.epoch = time.Now()
	}
	if c.policy == ratelimit.LocalFallback {
		fb, err := ratelimit.NewMemoryStore(c.fallback...)
		if err != nil {
			return nil, fmt.Errorf("%w: fallback store: %w", ErrInvalidConfig, err)
		}
		s.fallback = fb
	}
	s.checkEviction(ctx)
	return s, nil
}

// checkEviction warns when Redis may evict the store's keys.
func (s *Store) checkEviction(ctx context.Context) {
	_ = redisevict.Enforce(ctx, s.client, redisevict.Requirement{
		Name:    "ratelimit/redisstore",
		Loss:    "an evicted key resets its limit early (over-admission)",
		Aware:   s.ctxAware,
		Timeout: checkTimeout,
		Logger:  s.cfg.logger,
	})
}

// redisKey wraps key in a hash tag so the whole key maps to one Cluster slot
// whatever the key contains.
func (s *Store) redisKey(key string, alg ratelimit.Algorithm) string {
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
// the ratelimit.LocalFallback store.
func (s *Store) Take(ctx context.Context, key string, r ratelimit.Rate, alg ratelimit.Algorithm, cost int64) (ratelimit.Decision, error) {
	if err := checkTake(r, alg, cost); err != nil {
		return ratelimit.Decision{}, err
	}
	if s.leases != nil && cost > 0 {
		return s.takeLeased(ctx, key, r, alg, cost)
	}
	if !s.allowCall() {
		return s.degraded(ctx, key, r, alg, cost)
	}
	res, err := s.run(ctx, takeScript, []string{s.redisKey(key, alg)}, s.args(r, alg, cost)...)
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("ratelimit: unexpected script reply of %d values", len(res))
	}
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up (client went away); not Redis's fault.
			return ratelimit.Decision{}, ctx.Err()
		}
		s.recordFailure(err)
		return s.degraded(ctx, key, r, alg, cost)
	}
	s.recordSuccess()
	return ratelimit.Decision{
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
	rate ratelimit.Rate
	alg  ratelimit.Algorithm
	args [4]any
}

// args returns the script arguments for r, alg and cost.
func (s *Store) args(r ratelimit.Rate, alg ratelimit.Algorithm, cost int64) []any {
	c := s.lastArgs.Load()
	if c == nil || c.rate != r || c.alg != alg {
		c = &argsCache{rate: r, alg: alg, args: [4]any{int(alg), r.Limit, int64(r.Period / time.Microsecond), burst(r)}}
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
func (s *Store) run(ctx context.Context, script *redis.Script, keys []string, args ...any) ([]int64, error) {
	if s.ctxAware {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return script.Run(s.bound.Context(ctx), s.client, keys, args...).Int64Slice()
	}
	cctx, cancel := context.WithTimeout(ctx, s.bound.Timeout())
	defer cancel()
	ch := make(chan scriptResult, 1)
	go func() {
		v, err := script.Run(cctx, s.client, keys, args...).Int64Slice()
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
func (s *Store) allowCall() bool { return s.brk.Allow() }

// recordFailure counts a failure; the breaker opens at the threshold.
func (s *Store) recordFailure(err error) {
	s.emit(Event{Kind: EventError, Policy: s.cfg.policy, Err: err})
	if !s.brk.Open() {
		s.cfg.logger.Warn("ratelimit: redis call failed", "err", err, "policy", s.cfg.policy.String())
	}
	s.brk.Failure(err)
}

func (s *Store) recordSuccess() { s.brk.Success() }

// degraded decides by policy.
func (s *Store) degraded(ctx context.Context, key string, r ratelimit.Rate, alg ratelimit.Algorithm, cost int64) (ratelimit.Decision, error) {
	s.emit(Event{Kind: EventPolicy, Policy: s.cfg.policy})
	if s.cfg.logger.Enabled(ctx, slog.LevelDebug) {
		s.cfg.logger.DebugContext(ctx, "ratelimit: decided by failure policy", "policy", s.cfg.policy.String())
	}
	switch s.cfg.policy {
	case ratelimit.LocalFallback:
		d, err := s.fallback.Take(ctx, key, r, alg, cost)
		d.Degraded = true
		return d, err
	case ratelimit.FailClosed:
		return ratelimit.Decision{
			Limit: r.Limit, Period: r.Period, Degraded: true,
			RetryAfter: s.cfg.cooldown, ResetAfter: s.cfg.cooldown,
		}, nil
	}
	return ratelimit.Decision{Allowed: true, Limit: r.Limit, Period: r.Period, Remaining: r.Limit, Degraded: true}, nil
}

// checkTake refuses what the core's stores refuse, with the same errors.
func checkTake(r ratelimit.Rate, alg ratelimit.Algorithm, cost int64) error {
	if cost < 0 {
		return ratelimit.ErrInvalidCost
	}
	if alg > ratelimit.FixedWindow {
		return fmt.Errorf("%w: unknown algorithm %v", ratelimit.ErrInvalidConfig, alg)
	}
	return r.Validate()
}

// burst is r's burst as [ratelimit.Rate] documents it: Limit when unset.
func burst(r ratelimit.Rate) int64 {
	if r.Burst == 0 {
		return r.Limit
	}
	return r.Burst
}
