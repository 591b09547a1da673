package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/covetgo/covet/ratelimit"
)

// minSweep is the number of leases kept before the first sweep of expired
// ones; later sweeps run when the table has doubled since the last.
const minSweep = 1024

// leaseShare bounds one lease to a tenth of a key's quota (Burst for GCRA,
// Limit for the windows), so that a replica never holds most of a small
// limit while the others are refused.
const leaseShare = 10

// leases is the local side of the lease mode: per Redis key, the allowance
// this replica took from Redis and has not spent yet. Safe for concurrent
// use.
type leases struct {
	batch  int64
	maxAge time.Duration

	mu    sync.Mutex
	m     map[string]*lease
	sweep int // table size that triggers the next sweep
}

// lease is one key's allowance; its fields are guarded by leases.mu.
type lease struct {
	rate      ratelimit.Rate
	tokens    int64 // units that may be spent before exp
	exp       int64 // clock() ns
	remaining int64 // what Redis had left at its last answer
	resetAt   int64 // clock() ns, from Redis's last answer
	denyUntil int64 // clock() ns: refused without asking Redis until then...
	denyNeed  int64 // ...when at least this much is needed (0: not refused)
	fill      *fill // the Redis call in flight for this key, if any
}

// fill is one lease call; waiters on the same key share its outcome.
type fill struct {
	done   chan struct{}
	failed bool // Redis was unavailable: the waiters go to the policy too
}

func newLeases(batch int64, maxAge time.Duration) *leases {
	return &leases{batch: batch, maxAge: maxAge, m: make(map[string]*lease), sweep: minSweep}
}

// get returns the lease of rk for rate r, creating it; l.mu is held.
func (ls *leases) get(rk string, r ratelimit.Rate, now int64) *lease {
	l := ls.m[rk]
	if l != nil && l.rate == r {
		return l
	}
	if l != nil && l.fill != nil {
		// Another rate on the same key while a call is in flight: let that
		// call finish with its own lease; this one starts afresh.
		l = &lease{rate: r}
		ls.m[rk] = l
		return l
	}
	if len(ls.m) >= ls.sweep {
		for k, v := range ls.m {
			if v.exp <= now && v.denyUntil <= now && v.fill == nil {
				delete(ls.m, k)
			}
		}
		ls.sweep = max(2*len(ls.m), minSweep)
	}
	l = &lease{rate: r}
	ls.m[rk] = l
	return l
}

// size returns how much to ask Redis for when need units are missing.
func (ls *leases) size(r ratelimit.Rate, alg ratelimit.Algorithm, need int64) int64 {
	share := r.Limit
	if alg == ratelimit.GCRA {
		share = burst(r)
	}
	return max(need, min(ls.batch, max(1, share/leaseShare)))
}

// decision describes l to a caller at now.
func (l *lease) decision(r ratelimit.Rate, now int64, allowed bool) ratelimit.Decision {
	d := ratelimit.Decision{
		Allowed:    allowed,
		Limit:      r.Limit,
		Period:     r.Period,
		Remaining:  max(0, l.remaining) + l.tokens,
		ResetAfter: time.Duration(max(0, l.resetAt-now)),
	}
	if !allowed {
		d.RetryAfter = time.Duration(max(1, l.denyUntil-now))
	}
	return d
}

// takeLeased decides cost (at least 1) from the local lease of key, and
// asks Redis for a new lease, once for all the callers waiting on the key,
// when the lease cannot pay.
func (s *Store) takeLeased(ctx context.Context, key string, r ratelimit.Rate, alg ratelimit.Algorithm, cost int64) (ratelimit.Decision, error) {
	ls := s.leases
	rk := s.redisKey(key, alg)
	for {
		now := s.clock()
		ls.mu.Lock()
		l := ls.get(rk, r, now)
		if l.exp <= now {
			l.tokens = 0
		}
		if l.tokens >= cost {
			l.tokens -= cost
			d := l.decision(r, now, true)
			ls.mu.Unlock()
			return d, nil
		}
		need := cost - l.tokens
		if l.denyNeed > 0 && now < l.denyUntil && need >= l.denyNeed {
			d := l.decision(r, now, false)
			ls.mu.Unlock()
			return d, nil
		}
		if f := l.fill; f != nil {
			ls.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return ratelimit.Decision{}, ctx.Err()
			}
			if f.failed {
				return s.degraded(ctx, key, r, alg, cost)
			}
			continue
		}
		f := &fill{done: make(chan struct{})}
		l.fill = f
		ls.mu.Unlock()
		ok, err := s.refill(ctx, rk, l, f, r, alg, ls.size(r, alg, need), need, now)
		if err != nil {
			return ratelimit.Decision{}, err
		}
		if !ok {
			return s.degraded(ctx, key, r, alg, cost)
		}
		// The lease now pays, refuses until a time, or (if others spent
		// what it held meanwhile) needs another call.
	}
}

// refill asks Redis for want units, at least need, for l. It reports false
// when Redis was unavailable (the failure is recorded), and the caller's
// context error when the caller gave up.
func (s *Store) refill(ctx context.Context, rk string, l *lease, f *fill, r ratelimit.Rate, alg ratelimit.Algorithm, want, need, sent int64) (ok bool, err error) {
	ls := s.leases
	defer func() {
		ls.mu.Lock()
		if l.fill == f {
			l.fill = nil
		}
		ls.mu.Unlock()
		close(f.done)
	}()
	if !s.allowCall() {
		f.failed = true
		return false, nil
	}
	res, err := s.run(ctx, leaseScript, []string{rk}, s.leaseArgs(r, alg, want, need)...)
	if err == nil && len(res) != 5 {
		err = fmt.Errorf("ratelimit: unexpected lease script reply of %d values", len(res))
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		s.recordFailure(err)
		f.failed = true
		return false, nil
	}
	s.recordSuccess()
	recv := s.clock()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l.remaining = res[1]
	l.resetAt = recv + res[3]*int64(time.Microsecond)
	if g := res[0]; g > 0 {
		// The lease ends maxAge after the call was sent, and a window
		// algorithm's at the end of the window it was taken in; both are
		// counted from the sending, which Redis's clock reading follows, so
		// the lease never outlives what Redis counted it against.
		exp := sent + int64(ls.maxAge)
		if w := res[4]; w > 0 {
			exp = min(exp, sent+w*int64(time.Microsecond))
		}
		if l.exp <= recv {
			l.tokens = 0
		}
		if l.tokens > 0 {
			exp = min(exp, l.exp) // what was left keeps its own end
		}
		l.tokens += g
		l.exp = exp
		l.denyUntil, l.denyNeed = 0, 0
		return true, nil
	}
	// Refused: the wait is measured from the answer, so that it is never
	// shorter than Redis's.
	l.denyUntil = recv + max(1, res[2])*int64(time.Microsecond)
	l.denyNeed = need
	return true, nil
}

// leaseArgs returns the lease script's arguments.
func (s *Store) leaseArgs(r ratelimit.Rate, alg ratelimit.Algorithm, want, need int64) []any {
	a := s.args(r, alg, want)
	return append(a, need)
}

// clock returns nanoseconds since the store was made, on the monotonic
// clock, so that a step of the wall clock neither stretches nor cuts a
// lease.
func (s *Store) clock() int64 { return int64(s.now().Sub(s.epoch)) }
