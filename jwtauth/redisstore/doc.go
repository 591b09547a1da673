// Package redisstore keeps jwtauth's refresh token families and access token
// denylist in Redis, shared by every instance of a service. It is apart from
// jwtauth so that a program using jwtauth without Redis does not link
// go-redis; jwtauth's MemoryStore serves a single instance and tests.
//
//	store, err := redisstore.New(ctx, rdb, redisstore.WithKeyPrefix("myapp:auth:"))
//	auth, err := jwtauth.New[jwtauth.Claims](ring,
//		jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store))
//
// # Redis requirements
//
// Everything this store keeps is security state, and Redis must keep it
// until it expires: run it with maxmemory-policy noeviction. Every key
// carries a TTL, so the volatile-* policies evict these keys as readily as
// the allkeys-* ones. Under eviction:
//
//   - an evicted denylist entry (one revoked jti, or a user's "log out
//     everywhere" time) is a revoked access token that works again until it
//     expires;
//   - an evicted spent refresh token is no longer recognised as spent, so
//     its reuse, the sign of theft, is answered as an unknown token instead
//     of revoking the family: the thief's rotated token keeps working;
//   - an evicted family or active token logs its user out (the safe side).
//
// With noeviction, Redis refuses writes once full: logins, refreshes and
// revocations then fail with [jwtauth.ErrStoreUnavailable] (503), and
// nothing already written is lost. [New] reads the policy (CONFIG GET
// maxmemory-policy, on every master of a cluster) and refuses an evicting
// one with an error wrapping [ErrInvalidConfig], unless
// [WithEvictionAllowed] accepts the risk, in which case it logs a warning
// once. Where CONFIG is refused (many managed services), New logs a
// warning and proceeds: check the policy in the provider's settings.
//
// Failover and restarts lose what was not replicated or persisted. Redis
// replicates asynchronously, so a replica promoted after a failover may lack
// the last writes acknowledged by the old master: a revocation lost that
// way works again until its token expires, and a rotation lost that way
// lets the previous refresh token be spent once more without being seen as
// reuse. A restart without persistence forgets everything: every revocation
// (revoked tokens work again until they expire) and every refresh family
// (every user signs in again). Use persistence (appendonly yes) and, where
// a lost revocation matters, keep access tokens short (jwtauth.WithAccessTTL)
// and follow a failover with jwtauth's Auth.RevokeAll for users revoked in
// the minutes before it.
//
// # Keys
//
// Keys start with the prefix ([WithKeyPrefix], default "jwtauth:"). A
// refresh family's keys share a hash tag, so a rotation is one atomic Lua
// script on one node, also on Redis Cluster. Each record expires with the
// token it describes (PXAT), so nothing needs sweeping. Needs Redis 6.2 or
// later.
//
// # Outages
//
// Every call has its own deadline ([WithTimeout], 250 ms by default) and
// passes through the circuit breaker every covet Redis client shares
// ([WithBreaker]), so an outage costs one timeout per cooldown; breaker
// transitions are logged once each ([WithLogger]). Errors then match
// [jwtauth.ErrStoreUnavailable]. Refresh fails closed: a refresh token is
// never accepted twice, even when a rotation's answer was lost (the retry
// finds it spent and revokes the family). The denylist fails closed too
// unless the Auth was built with jwtauth.WithDenylistFailOpen.
package redisstore
