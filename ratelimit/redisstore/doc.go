// Package redisstore is a [ratelimit.Store] in Redis, shared by every
// replica of a service. It is the only part of ratelimit that links
// go-redis.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	store, err := redisstore.New(ctx, client, redisstore.WithFailurePolicy(ratelimit.LocalFallback))
//	if err != nil { ... } // every configuration mistake is reported here
//	api, err := ratelimit.New(store, ratelimit.PerMinute(1000), ratelimit.WithName("api"))
//
// By default each decision is one round trip: one Lua script run by
// EVALSHA (reloaded after NOSCRIPT) that takes the time from Redis TIME, so
// replicas with skewed clocks agree, and sets an expiry so idle keys vanish.
// Keys carry a hash tag, so Redis Cluster works.
//
// # Leases
//
// A busy limit need not cost a round trip per request. With [WithLease] a
// store takes allowance for a batch of decisions on a key in one atomic
// call and spends it locally, as a quota is leased to the edge of a large
// API gateway:
//
//	api, _ := redisstore.New(ctx, client, redisstore.WithLease(10, 500*time.Millisecond))
//	login, _ := redisstore.New(ctx, client) // exact: one round trip per decision
//
// The limit stays global (every unit was counted in Redis before it is
// spent) and round trips fall by about the lease size: the batch, or a
// tenth of maxAge of a hot key's own traffic, refilled in the background
// at half a lease so that a hot key's callers do not wait for Redis. The
// price is a bounded slack, stated at [WithLease]: for GCRA any interval
// may see up to min(1.5 × replicas × lease size, Limit × maxAge / Period)
// more than the exact mode allows, for the window algorithms nothing more,
// and leased units left unspent lapse rather than return. In a test of
// three replicas offered twice the limit, they admit no more than the
// exact allowance. Keep limits that must hold to the unit (logins,
// lockouts) on a store without leases: the two modes share keys and may be
// mixed.
//
// # Outages
//
// Every Redis call has its own deadline (50 ms by default, [WithTimeout]),
// and every covet Redis client (this store, the lockout, the token store,
// the cache) shares one circuit-breaker behaviour: after 5 consecutive
// failures Redis is left alone for 2 s, then a single call probes it, so an
// outage costs one timeout per cooldown rather than one per request; each
// opening and closing is logged once. While Redis is unavailable the
// [ratelimit.FailurePolicy] decides: [ratelimit.FailOpen] (the default),
// [ratelimit.FailClosed] or [ratelimit.LocalFallback] (a
// [ratelimit.MemoryStore] per replica). Failures and policy decisions are
// reported through log/slog and an optional hook ([WithEventHook]).
//
// # Eviction and failover
//
// A rate-limit counter is soft state. If Redis evicts one (any
// maxmemory-policy but noeviction, once memory is full) or loses it in a
// failover to a replica that had not received the last writes, that key's
// limit starts afresh: a client may be let through more often than the
// rate for one period (over-admission). No limit is lifted for longer, and
// nothing an attacker gains lasts beyond that period, so [New] only logs a
// warning when the server's policy allows eviction. Security state that
// must not be forgotten, such as account lockouts, needs noeviction: see
// [github.com/covetgo/covet/ratelimit/lockout/redisstore].
package redisstore
