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
//   - an evicted index of revocations ([WithLocalMirror]) is missing from
//     the reload of every mirror that resubscribes after it: those mirrors
//     accept the revoked tokens it held until they expire;
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
// Keys start with the prefix ([WithKeyPrefix], default "jwtauth:"): the
// index of revocations ("denied", also the name of its pub/sub channel),
// one key per denied token ("jti:" and its ID) and per user logged out
// everywhere ("nbf:" and the subject), and the refresh families. A
// refresh family's keys share a hash tag, so a rotation is one atomic Lua
// script on one node, also on Redis Cluster. Each record expires with the
// token it describes (PXAT), so nothing needs sweeping. Needs Redis 6.2 or
// later.
//
// # Local mirror
//
// By default every authenticated request reads the denylist in Redis: one
// round trip (a pipeline of two reads). [WithLocalMirror] keeps a copy of
// the denylist in each process instead, and Revoked answers from it with
// no round trip. Every revocation, with or without the option, first goes
// to an index of revocations (a sorted set, "denied" under the prefix, each
// entry scored by its expiry) and is published on a channel of the same
// name by the same script, then written to the key a direct check reads.
// Each mirror subscribes to the channel, and after every (re)subscription
// reloads the index before it trusts itself: a revocation made while it was
// unsubscribed is either in the reload or delivered after it. Entries
// expire with the tokens they deny, so the copy holds what the index holds.
//
// The window: a revocation is refused by the store that made it before the
// call returns, and by every other mirror once Redis delivers its message,
// within 100 ms at the 99th percentile (measured a few milliseconds on one
// host under load; BENCHMARKS.md). While a mirror is not synced (at start,
// after its subscription drops, until the reload) Revoked asks Redis, as
// without the option. The check jwtauth makes before a refresh always
// reads Redis, so a refresh never falls in the window. A connection that
// dies without an error is caught by a heartbeat: the mirror pings on its subscription every 200 ms and stops
// trusting itself once the latest answered ping was sent more than a second
// ago. So however the subscription fails, a revocation made more than a
// second before a check is never missed by it; on Redis Cluster add the
// cluster bus's delay, as the message may be published on another node.
// Pub/sub is used rather than RESP3 client-side tracking, which go-redis v9
// does not expose as an invalidation stream and which tracks keys a process
// has read, whereas a mirror must learn of keys it has never read.
//
// All stores sharing a prefix must publish, so deploy this version
// everywhere before turning the mirror on: a revocation by an older store
// reaches mirrors only at their next reload.
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
// unless the Auth was built with jwtauth.WithDenylistFailOpen. A local
// mirror does not answer through an outage: its subscription drops with
// Redis (at the latest a second later, by the heartbeat), and checks go to
// Redis and fail as above.
package redisstore
