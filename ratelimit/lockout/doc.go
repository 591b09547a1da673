// Package lockout locks an account after repeated failures, typically failed
// logins: it counts failures per account over a window and locks the account
// for a time that doubles with each lock; a success resets it.
//
// A [Lockout] keeps its state in process memory (one replica) or, with
// [WithStore], in a [Store] shared by every replica: the Redis store of
// [github.com/covetgo/covet/ratelimit/lockout/redisstore]. This package
// needs only the standard library; go-redis is linked only by that
// subpackage. Its method set (Check, Fail, Succeed) is what an
// authentication package declares as its own interface, so the two need
// not import each other: [github.com/covetgo/covet/jwtauth/password]
// accepts a *Lockout as its Lockout.
//
//	store, err := redisstore.New(ctx, client, redisstore.WithKeyPrefix("myapp:lockout:"))
//	if err != nil { ... } // a Redis that may evict keys is refused here
//	lock, err := lockout.New(lockout.WithStore(store))
//	if err != nil { ... } // every configuration mistake is reported here
//	login, err := password.NewLogin(hasher, lookup, lock)
//
// # Redis requirements
//
// A lockout is security state: a lock or a failure count that Redis forgets
// lets a password guesser go on. Run its Redis with maxmemory-policy
// noeviction (Redis then refuses writes when memory is full, and the
// lockout's failure policy decides, instead of silently dropping locks).
// The Redis store reads the policy when it is built and refuses any other
// unless told otherwise; a managed Redis that hides its configuration is
// accepted with a warning, so check its policy yourself.
//
// Under failover, Redis replicates asynchronously: a replica promoted
// after a primary's crash may lack the last failures recorded, so an
// attacker gains at most the few attempts written in that moment, once per
// failover. Locks already replicated survive.
//
// # Outages
//
// The Redis store bounds every call (50 ms by default) and shares the
// circuit breaker of every covet Redis client. While its store is
// unavailable (errors wrapping [ErrUnavailable]) a lockout's failure policy
// decides, with the policies of [github.com/covetgo/covet/ratelimit]:
// [ratelimit.LocalFallback] (the default: failures are counted per replica
// in memory, so guessing stays bounded), [ratelimit.FailOpen] (no lockout)
// or [ratelimit.FailClosed] (errors matching [ErrUnavailable], to be
// answered with 503).
//
// Options that do not apply (a failure policy without a store, a memory cap
// with a store that never falls back to memory) are refused by [New] with
// [ErrInvalidConfig] rather than ignored.
package lockout
