package ratelimit

import "strconv"

// FailurePolicy says what a store shared through a remote service (the
// Redis store of [github.com/covetgo/covet/ratelimit/redisstore], the Redis
// lockout) decides while that service fails, is slower than its per-call
// timeout, or its circuit breaker is open. It lives here, with no
// dependency, so that every such store names the same policies.
type FailurePolicy uint8

const (
	// FailOpen allows every request while the service is unavailable.
	FailOpen FailurePolicy = iota
	// FailClosed denies every request while the service is unavailable;
	// the denial asks the client to retry after the breaker's cooldown.
	FailClosed
	// LocalFallback decides with an in-process [MemoryStore] per replica, so
	// each replica enforces the full limit on its own until the service is
	// back.
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
