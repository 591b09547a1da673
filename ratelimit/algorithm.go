package ratelimit

import (
	"fmt"
	"math"
	"time"
)

// Algorithm selects how a [Rate] is enforced.
type Algorithm uint8

const (
	// GCRA is the generic cell rate algorithm (a leaky bucket kept as one
	// timestamp per key): cost drains at Limit per Period, up to Burst at
	// once, and reset and retry times are exact. It is the default.
	GCRA Algorithm = iota
	// SlidingWindow counts cost in the current fixed window plus the previous
	// window's count weighted by how much of it still overlaps the sliding
	// period. It smooths the burst a fixed window allows at its boundary.
	SlidingWindow
	// FixedWindow counts cost in windows aligned to the Unix epoch; the whole
	// Limit may be spent at the end of one window and again at the start of
	// the next.
	FixedWindow
)

// String returns "gcra", "sliding-window" or "fixed-window".
func (a Algorithm) String() string {
	switch a {
	case GCRA:
		return "gcra"
	case SlidingWindow:
		return "sliding-window"
	case FixedWindow:
		return "fixed-window"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

func (a Algorithm) valid() bool { return a <= FixedWindow }

// Decision is the outcome of one rate-limit check.
type Decision struct {
	// Allowed reports whether the request may proceed; its cost was counted
	// only if so.
	Allowed bool
	// Limit and Period are the rate the decision was made against.
	Limit  int64
	Period time.Duration
	// Remaining is the cost that could still be spent now.
	Remaining int64
	// ResetAfter is how long until the key is back to its full quota.
	ResetAfter time.Duration
	// RetryAfter is, when denied, how long until the same cost would be
	// allowed; it is never shorter than the true wait. Zero when allowed.
	RetryAfter time.Duration
	// Degraded reports that the store could not decide and the decision was
	// made by its outage policy (see [FailurePolicy]).
	Degraded bool
}

// state is one key's stored state, shared by the algorithms:
// GCRA keeps its theoretical arrival time in a; the windows keep the current
// window's start in a, its count in cur and the previous window's in prev.
// exp is the time (Unix ns) from which the state equals a fresh key's.
type state struct {
	a, cur, prev int64
	exp          int64
}

// apply decides cost against st at now (Unix ns), updating st when allowed.
// The caller has validated r and cost >= 0.
func (a Algorithm) apply(st *state, now int64, r Rate, cost int64) Decision {
	if st.exp <= now {
		*st = state{}
	}
	d := Decision{Limit: r.Limit, Period: r.Period}
	P := int64(r.Period)
	switch a {
	case GCRA:
		burst := r.burst()
		T := (P + r.Limit - 1) / r.Limit // emission interval, rounded up so the rate is never exceeded
		tau := burst * T
		tat := max(st.a, now)
		if cost > burst {
			d.Remaining = (now + tau - tat) / T
			d.ResetAfter = time.Duration(tat - now)
			d.RetryAfter = r.Period
			return d
		}
		newTat := tat + cost*T
		if allowAt := newTat - tau; now < allowAt {
			d.Remaining = (now + tau - tat) / T
			d.ResetAfter = time.Duration(tat - now)
			d.RetryAfter = time.Duration(allowAt - now)
			return d
		}
		st.a, st.exp = newTat, newTat
		d.Allowed = true
		d.Remaining = (now + tau - newTat) / T
		d.ResetAfter = time.Duration(newTat - now)
		return d
	case FixedWindow:
		ws := now - now%P
		if st.a != ws {
			*st = state{a: ws}
		}
		st.exp = ws + P
		d.ResetAfter = time.Duration(ws + P - now)
		if st.cur+cost > r.Limit {
			d.Remaining = r.Limit - st.cur
			d.RetryAfter = d.ResetAfter
			if cost > r.Limit {
				d.RetryAfter = r.Period
			}
			return d
		}
		st.cur += cost
		d.Allowed = true
		d.Remaining = r.Limit - st.cur
		return d
	default: // SlidingWindow
		ws := now - now%P
		if st.a != ws {
			if st.a == ws-P {
				st.prev = st.cur
			} else {
				st.prev = 0
			}
			st.a, st.cur = ws, 0
		}
		st.exp = ws + 2*P
		elapsed := now - ws
		est := float64(st.prev)*float64(P-elapsed)/float64(P) + float64(st.cur)
		L := float64(r.Limit)
		if est+float64(cost) > L {
			d.Remaining = max(0, int64(L-est))
			d.ResetAfter = slidingReset(st, ws, P, now)
			d.RetryAfter = slidingRetry(st, ws, P, now, r.Limit, cost)
			return d
		}
		st.cur += cost
		d.Allowed = true
		d.Remaining = max(0, int64(math.Floor(L-est-float64(cost))))
		d.ResetAfter = slidingReset(st, ws, P, now)
		return d
	}
}

func slidingReset(st *state, ws, P, now int64) time.Duration {
	switch {
	case st.cur > 0:
		return time.Duration(ws + 2*P - now)
	case st.prev > 0:
		return time.Duration(ws + P - now)
	}
	return 0
}

// slidingRetry returns how long until cost fits under the sliding estimate.
func slidingRetry(st *state, ws, P, now, limit, cost int64) time.Duration {
	if cost > limit {
		return time.Duration(P)
	}
	if st.cur+cost > limit {
		// Wait for the next window, then for enough of the current count to
		// slide out: cur*(1-f) + cost <= limit.
		f := 1 - float64(limit-cost)/float64(st.cur)
		return time.Duration(ws+P-now) + time.Duration(math.Ceil(f*float64(P)))
	}
	// Within this window: prev*(1-f) + cur + cost <= limit.
	f := 1 - float64(limit-cost-st.cur)/float64(st.prev)
	wait := ws + int64(math.Ceil(f*float64(P))) - now
	return time.Duration(max(wait, 1))
}
