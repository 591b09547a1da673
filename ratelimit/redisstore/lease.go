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

// paceShare sets the span of a key's own spending a lease asks for: a
// tenth of maxAge, so a hot key's lease lasts a tenth of its lifetime and
// lapses little when the traffic stops.
const paceShare = 10

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
//
// It holds the units of up to two calls, each with the expiry of the call
// that leased it: tokens, spent first, and spare, leased ahead of need by a
// background call while tokens were still being spent. Merging them under
// one expiry would either throw the newer units away with the older ones or
// keep the older ones beyond their end.
type lease struct {
	rate      ratelimit.Rate
	tokens    int64 // units that may be spent before exp
	exp       int64 // clock() ns
	spare     int64 // units that may be spent before spareExp, after tokens
	spareExp  int64 // clock() ns
	remaining int64 // what Redis had left at its last answer
	resetAt   int64 // clock() ns, from Redis's last answer
	denyUntil int64 // clock() ns: refused without asking Redis until then...
	denyNeed  int64 // ...when at least this much is needed (0: not refused)
	fill      *fill // the Redis call in flight for this key, if any
	queued    int64 // units wanted by decisions waiting for fill
	spent     int64 // units spent since mark, for the spending rate
	mark      int64 // clock() ns
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
		l = &lease{rate: r, mark: now}
		ls.m[rk] = l
		return l
	}
	if len(ls.m) >= ls.sweep {
		for k, v := range ls.m {
			if v.exp <= now && v.spareExp <= now && v.denyUntil <= now && v.fill == nil {
				delete(ls.m, k)
			}
		}
		ls.sweep = max(2*len(ls.m), minSweep)
	}
	l = &lease{rate: r, mark: now}
	ls.m[rk] = l
	return l
}

// quota is what a key allows at once: Burst for GCRA, Limit for the
// windows.
func quota(r ratelimit.Rate, alg ratelimit.Algorithm) int64 {
	if alg == ratelimit.GCRA {
		return burst(r)
	}
	return r.Limit
}

// size returns how much to ask Redis for when need units are missing: the
// batch, or more for a key this replica spends faster than a batch per
// tenth of maxAge (its spending over that span) or for which more units
// are wanted by decisions queued behind the call in flight (a burst, or a
// key coming back from idle while its spending reads low), within a tenth
// of the quota, and never less than need.
func (ls *leases) size(l *lease, r ratelimit.Rate, alg ratelimit.Algorithm, need, now int64) int64 {
	limit := max(1, quota(r, alg)/leaseShare)
	want := min(ls.batch, limit)
	if want < limit {
		want = max(want, l.pace(now, int64(ls.maxAge), limit), min(l.queued, limit))
	}
	return max(need, want)
}

// pace returns what l spends in a tenth of maxAge at the rate observed
// since its mark, at most limit. Spending is measured over a tenth of
// maxAge at least, so a key's first few decisions do not read as a burst.
func (l *lease) pace(now, maxAge, limit int64) int64 {
	if l.spent == 0 {
		return 0
	}
	span := max(1, maxAge/paceShare)
	p := float64(l.spent) * float64(span) / float64(max(now-l.mark, span))
	if p >= float64(limit) {
		return limit
	}
	return int64(p)
}

// held returns the units l can spend now (after settle).
func (l *lease) held() int64 { return l.tokens + l.spare }

// settle drops the units that lapsed by now and moves the spare up when
// the current units are gone.
func (l *lease) settle(now int64) {
	if l.exp <= now {
		l.tokens = 0
	}
	if l.spareExp <= now {
		l.spare = 0
	}
	if l.tokens == 0 && l.spare > 0 {
		l.tokens, l.exp = l.spare, l.spareExp
		l.spare, l.spareExp = 0, 0
	}
}

// spend takes cost (at most held) from l, the older units first, and counts
// it towards the spending rate. The count restarts when its mark is older
// than maxAge, carrying the rate it measured as the spending of the last
// tenth of maxAge, so that a steady key's lease does not drop back to the
// batch at every restart, while an idle one's decays.
func (l *lease) spend(cost, now, maxAge int64) {
	t := min(cost, l.tokens)
	l.tokens -= t
	l.spare -= cost - t
	l.settle(now)
	if now-l.mark >= maxAge {
		span := max(1, maxAge/paceShare)
		l.spent = int64(float64(l.spent) * float64(span) / float64(now-l.mark))
		l.mark = now - span
	}
	l.spent += cost
}

// decision describes l to a caller at now.
func (l *lease) decision(r ratelimit.Rate, now int64, allowed bool) ratelimit.Decision {
	d := ratelimit.Decision{
		Allowed:    allowed,
		Limit:      r.Limit,
		Period:     r.Period,
		Remaining:  max(0, l.remaining) + l.held(),
		ResetAfter: time.Duration(max(0, l.resetAt-now)),
	}
	if !allowed {
		d.RetryAfter = time.Duration(max(1, l.denyUntil-now))
	}
	return d
}

// takeLeased decides cost (at least 1) from the local lease of key, and
// asks Redis for a new lease, once for all the callers waiting on the key,
// when the lease cannot pay. A decision that leaves the lease below half
// of the next call's size starts that call in the background, so that the
// callers after it keep spending what is left instead of waiting for Redis.
func (s *Store) takeLeased(ctx context.Context, key string, r ratelimit.Rate, alg ratelimit.Algorithm, cost int64) (ratelimit.Decision, error) {
	ls := s.leases
	rk := s.redisKey(key, alg)
	var queuedOn *lease // the lease whose queue this decision is counted in
	for {
		now := s.clock()
		ls.mu.Lock()
		if queuedOn != nil {
			queuedOn.queued -= cost
			queuedOn = nil
		}
		l := ls.get(rk, r, now)
		l.settle(now)
		if l.held() >= cost {
			l.spend(cost, now, int64(ls.maxAge))
			d := l.decision(r, now, true)
			f, want := s.prefetchDue(l, r, alg, now)
			ls.mu.Unlock()
			if f != nil {
				s.fills.Go(func() {
					// Detached from the caller, who does not wait for it;
					// run bounds it by the timeout.
					_, _ = s.refill(context.WithoutCancel(ctx), rk, l, f, r, alg, want, 1, now)
				})
			}
			return d, nil
		}
		need := cost - l.held()
		if cost > quota(r, alg) {
			// Never payable, whatever is held: Redis refuses it for a period.
			need = cost
		}
		if l.denyNeed > 0 && now < l.denyUntil && need >= l.denyNeed {
			d := l.decision(r, now, false)
			ls.mu.Unlock()
			return d, nil
		}
		if f := l.fill; f != nil {
			// Queued units size the next call, so that a burst behind
			// a small lease is served by one more round trip, not by
			// one per batch.
			l.queued += cost
			ls.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				ls.mu.Lock()
				l.queued -= cost
				ls.mu.Unlock()
				return ratelimit.Decision{}, ctx.Err()
			}
			if f.failed {
				ls.mu.Lock()
				l.queued -= cost
				ls.mu.Unlock()
				return s.degraded(ctx, key, r, alg, cost)
			}
			queuedOn = l
			continue
		}
		if !s.allowCall() {
			ls.mu.Unlock()
			return s.degraded(ctx, key, r, alg, cost)
		}
		f := &fill{done: make(chan struct{})}
		l.fill = f
		want := ls.size(l, r, alg, need, now)
		ls.mu.Unlock()
		ok, err := s.refill(ctx, rk, l, f, r, alg, want, need, now)
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

// prefetchDue starts a background call for l, returning it and its size,
// when l holds less than half of what the call would ask for, no call is
// in flight, no refusal is remembered and the breaker allows a call; else
// it returns nil. ls.mu is held.
func (s *Store) prefetchDue(l *lease, r ratelimit.Rate, alg ratelimit.Algorithm, now int64) (*fill, int64) {
	if l.fill != nil || (l.denyNeed > 0 && now < l.denyUntil) {
		return nil, 0
	}
	want := s.leases.size(l, r, alg, 1, now)
	if 2*l.held() >= want || !s.allowCall() {
		return nil, 0
	}
	f := &fill{done: make(chan struct{})}
	l.fill = f
	return f, want
}

// refill asks Redis for want units, at least need, for l; the caller has
// set l.fill to f and been allowed the call by the breaker. It reports
// false when Redis was unavailable (the failure is recorded), and the
// caller's context error when the caller gave up.
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
		// The units end maxAge after the call was sent, and a window
		// algorithm's at the end of the window they were taken in; both
		// are counted from the sending, which Redis's clock reading
		// follows, so no unit outlives what Redis counted it against.
		exp := sent + int64(ls.maxAge)
		if w := res[4]; w > 0 {
			exp = min(exp, sent+w*int64(time.Microsecond))
		}
		l.settle(recv)
		switch {
		case l.tokens == 0:
			l.tokens, l.exp = g, exp
		case l.spare == 0:
			l.spare, l.spareExp = g, exp
		default:
			// Units of three calls: the two older share the earlier end.
			l.tokens += l.spare
			l.exp = min(l.exp, l.spareExp)
			l.spare, l.spareExp = g, exp
		}
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
