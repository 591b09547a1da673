package redisstore

import (
	"strconv"

	"github.com/covetgo/covet/ratelimit"
)

// EventKind classifies an [Event].
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

// Event reports an outage-related happening to the hook set with
// [WithEventHook].
type Event struct {
	Kind   EventKind
	Policy ratelimit.FailurePolicy
	// Err is the Redis error for EventError and EventBreakerOpen.
	Err error
}

func (s *Store) emit(e Event) {
	if s.cfg.hook != nil {
		s.cfg.hook(e)
	}
}
