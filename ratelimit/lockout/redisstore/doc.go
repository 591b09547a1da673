// Package redisstore keeps [github.com/covetgo/covet/ratelimit/lockout]
// state in Redis, shared by every replica. It is the only part of lockout
// that links go-redis.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	store, err := redisstore.New(ctx, client, redisstore.WithKeyPrefix("myapp:lockout:"))
//	if err != nil { ... } // a nil client, a bad option, a Redis that may evict keys
//	lock, err := lockout.New(lockout.WithStore(store))
//
// # Eviction and failover
//
// Locks and failure counts are security state. A Redis whose
// maxmemory-policy may evict keys (anything but noeviction) would forget
// them once memory is full, silently lifting locks, so [New] reads the
// policy and refuses such a server unless [WithEvictionAllowed] is given. A
// managed Redis that refuses CONFIG cannot be checked: New logs a warning
// and goes on, and its policy must be checked by hand. With noeviction a
// full Redis refuses writes instead; the lockout's failure policy then
// decides, as during an outage.
//
// Replication is asynchronous: after a failover the new primary may lack
// the failures recorded just before it, so a guesser gains at most those
// few attempts once per failover; locks already replicated survive.
//
// # Outages
//
// Each call is bounded by a timeout (50 ms by default, [WithTimeout]) and
// feeds the circuit breaker shared by every covet Redis client
// ([WithBreaker]): after 5 consecutive failures Redis is left alone for
// 2 s, then one call probes it; each opening and closing is logged once.
// Errors caused by Redis wrap [lockout.ErrUnavailable], and the lockout's
// failure policy decides what they mean for a login.
package redisstore
