package testenv

import (
	"sync"
	"time"
)

// Clock is a settable time source for code under test that reads the time
// through a func() time.Time. It moves only when told (Add, Set), or by a
// fixed step on every reading (NewStepClock), and is safe for concurrent use.
//
// Tests whose code reads time.Now and sleeps on timers are better served by
// testing/synctest; Clock is for code that talks to a real server (Redis,
// PostgreSQL), where a synctest bubble cannot hold the time still, and for
// code that takes its clock as a function anyway.
type Clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

// NewClock returns a Clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// NewStepClock returns a Clock that moves by step before every reading, so
// that an interval measured with two readings lasts exactly step.
func NewStepClock(start time.Time, step time.Duration) *Clock {
	return &Clock{t: start, step: step}
}

// Now returns the clock's time (after moving it by the step, if any).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
