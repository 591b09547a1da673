// Package breaker is the circuit breaker every Redis-backed covet type uses,
// so that an outage behaves the same everywhere: after Threshold consecutive
// failures calls are refused for Cooldown, then exactly one caller probes;
// its success closes the breaker, its failure opens it for another cooldown.
// An outage therefore costs one call timeout per cooldown, not one per
// request.
package breaker

import (
	"sync"
	"sync/atomic"
	"time"
)

// Defaults shared by every package that embeds a Breaker.
const (
	DefaultThreshold = 5
	DefaultCooldown  = 2 * time.Second
)

// Breaker is a consecutive-failure circuit breaker. The zero value is not
// usable; create one with New. It is safe for concurrent use.
type Breaker struct {
	threshold int64
	cooldown  time.Duration
	now       func() time.Time
	onChange  func(open bool, err error)

	failures  atomic.Int64
	openUntil atomic.Int64 // Unix ns; 0 when closed
	mu        sync.Mutex   // serialises transitions
}

// New returns a closed breaker. threshold < 1 and cooldown <= 0 take the
// defaults. onChange, when not nil, is called once per transition (open with
// the failure that opened it, or closed), synchronously: keep it fast. now
// is the clock (time.Now when nil).
func New(threshold int, cooldown time.Duration, now func() time.Time, onChange func(open bool, err error)) *Breaker {
	if threshold < 1 {
		threshold = DefaultThreshold
	}
	if cooldown <= 0 {
		cooldown = DefaultCooldown
	}
	if now == nil {
		now = time.Now
	}
	return &Breaker{threshold: int64(threshold), cooldown: cooldown, now: now, onChange: onChange}
}

// Cooldown returns how long the breaker stays open before a probe.
func (b *Breaker) Cooldown() time.Duration { return b.cooldown }

// Allow reports whether a call may go ahead: the breaker is closed, or it is
// open past its cooldown and this caller won the single probe.
func (b *Breaker) Allow() bool {
	until := b.openUntil.Load()
	if until == 0 {
		return true
	}
	now := b.now().UnixNano()
	if now < until {
		return false
	}
	return b.openUntil.CompareAndSwap(until, now+int64(b.cooldown))
}

// Open reports whether the breaker is open (including while a probe runs).
func (b *Breaker) Open() bool { return b.openUntil.Load() != 0 }

// Failure records a failed call and reports whether it opened the breaker.
func (b *Breaker) Failure(err error) bool {
	n := b.failures.Add(1)
	if n < b.threshold || b.openUntil.Load() != 0 {
		return false // below the threshold, or a failed probe (Allow extended the cooldown)
	}
	b.mu.Lock()
	opened := b.openUntil.Load() == 0
	if opened {
		b.openUntil.Store(b.now().UnixNano() + int64(b.cooldown))
	}
	b.mu.Unlock()
	if opened && b.onChange != nil {
		b.onChange(true, err)
	}
	return opened
}

// Success records a successful call and reports whether it closed the
// breaker.
func (b *Breaker) Success() bool {
	if b.failures.Load() != 0 {
		b.failures.Store(0)
	}
	if b.openUntil.Load() == 0 {
		return false
	}
	b.mu.Lock()
	closed := b.openUntil.Swap(0) != 0
	b.mu.Unlock()
	if closed && b.onChange != nil {
		b.onChange(false, nil)
	}
	return closed
}
