package health

import (
	"errors"
	"fmt"
	"time"
)

// ErrPending is the error of a background check ([WithBackground]) that has
// no result yet: its first call has not finished. A critical pending check
// fails readiness, as a check that is not known to pass should.
var ErrPending = errors.New("health: background check has no result yet")

// WithBackground runs the check in the background every interval, from New
// until [Checker.Close], instead of in the runs that probes trigger. A run
// reads its last result, whatever the check is doing, so a slow or stalled
// dependency never makes a probe wait: use it for checks whose answer
// changes slowly or whose dependency may stall (a certificate's expiry with
// [TLSCert], a disk), and for any check whose timeout would exceed the
// probe's (a Kubernetes readinessProbe times out after 1 s by default).
//
// Each background call still has the check's timeout ([WithTimeout]); a call
// that times out gives a failed result like any other. [Result.Age] says how
// old the result a report shows was when the report was made, and the
// "time" field of the JSON body says when that call started. Until the first
// call has finished the check reports [ErrPending]. The status hook is
// called from the background goroutine when the check's status changes; the
// hook is never called concurrently with itself. interval must be positive.
func WithBackground(interval time.Duration) CheckOption {
	return func(c *checkConfig) { c.background, c.backgroundSet = interval, true }
}

// loopBackground calls ch every ch.background until Close and keeps its
// last result.
func (c *Checker) loopBackground(ch *check, tick <-chan time.Time, stop func()) {
	defer c.wg.Done()
	defer stop()
	for {
		res := c.await(ch, c.begin(ch))
		if c.shut.Load() { // cancelled by Close: not the dependency's state
			return
		}
		if res.Status != ch.last {
			c.notify(Change{Check: ch.name, From: ch.last, To: res.Status, Err: res.Err, Time: res.Time})
			ch.last = res.Status
		}
		ch.result.Store(&res)
		select {
		case <-c.closing:
			return
		case <-tick:
		}
	}
}

// backgroundResult is ch's last background result as seen at now.
func (c *Checker) backgroundResult(ch *check, now time.Time) Result {
	if p := ch.result.Load(); p != nil {
		res := *p
		res.Age = max(now.Sub(res.Time), 0)
		return res
	}
	return Result{Name: ch.name, Critical: ch.critical, ComponentType: ch.ctype, Time: now,
		Status: StatusFail, Err: ErrPending}
}

func validBackground(cc checkConfig) error {
	if cc.backgroundSet && cc.background <= 0 {
		return fmt.Errorf("%w: check %q: background interval %v must be positive", ErrInvalidConfig, cc.name, cc.background)
	}
	return nil
}
