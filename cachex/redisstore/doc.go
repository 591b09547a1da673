// Package redisstore is the Redis tier of [github.com/covetgo/covet/cachex]:
// values shared by every replica, and the pub/sub channel through which
// replicas drop each other's in-process copies. It lives apart from cachex
// so that a program using only the in-process tier does not link go-redis.
//
//	tier, err := redisstore.New(rdb, redisstore.WithKeyPrefix("shop:products:"))
//	products, err := cachex.New[Product](cachex.WithShared(tier))
//
// A [Store] implements [github.com/covetgo/covet/cachex.Shared]. Any
// [redis.UniversalClient] works: a single node, a Cluster or a Ring.
//
// # Keys
//
// Every key is the cache's key under the tier's prefix ([WithKeyPrefix],
// default "cachex:"; an empty prefix is refused). Give every cache its own
// prefix: two caches of different value types under one prefix would read
// each other's values. Tag versions live under prefix + "\x00tag\x00" and
// invalidations are published on the channel prefix + "\x00cachex-invalidate".
//
// # Outages
//
// The tier follows covet's one Redis outage policy, the one ratelimit and
// jwtauth follow: every call has its own deadline ([WithTimeout], default
// 100 ms, or the caller's deadline when sooner), and failures feed a circuit
// breaker ([WithBreaker], default: open after 5 consecutive failures, one
// probe every 2 s). While the breaker is open every call fails at once with
// an error matching [ErrUnavailable], without touching the network, so an
// outage costs one timeout per cooldown rather than one per request.
// cachex's fallback then applies: reads are served by the loader and the
// in-process tier, and writes report the error.
//
// Failed calls are logged at Warn, the breaker opening at Error and closing
// at Info ([WithLogger]).
//
// Build the client with ContextTimeoutEnabled so that go-redis itself stops
// at the deadline; otherwise each call runs on its own goroutine, abandoned
// at the deadline, which costs a little more per call.
package redisstore
