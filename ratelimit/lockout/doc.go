// Package lockout locks an account after repeated failures, typically failed
// logins: it counts failures per account over a window and locks the account
// for a time that doubles with each lock; a success resets it.
//
// A [Lockout] lives in process memory ([New]) or in Redis shared by every
// replica ([NewRedis]). Its method set (Check, Fail, Succeed) is what an
// authentication package declares as its own interface, so the two need not
// import each other: [github.com/covetgo/covet/jwtauth/password] accepts a
// *Lockout as its Lockout.
//
//	lock, err := lockout.NewRedis(client, lockout.WithKeyPrefix("myapp:lockout:"))
//	if err != nil { ... } // every configuration mistake is reported here
//	login, err := password.NewLogin(hasher, lookup, lock)
//
// # Outages
//
// A Redis lockout bounds every call ([WithTimeout], 50 ms by default) and
// shares the circuit breaker of every covet Redis client ([WithBreaker]).
// While Redis is unavailable its failure policy decides, with the policies
// of [github.com/covetgo/covet/ratelimit]: [ratelimit.LocalFallback] (the
// default: failures are counted per replica in memory, so guessing stays
// bounded), [ratelimit.FailOpen] (no lockout) or [ratelimit.FailClosed]
// (errors matching [ErrUnavailable], to be answered with 503).
//
// Options that only a Redis lockout uses (key prefix, timeout, policy,
// breaker, logger) are refused by [New] with [ErrInvalidConfig] rather than
// ignored.
package lockout
