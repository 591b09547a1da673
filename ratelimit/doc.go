// Package ratelimit limits request rates per client, route or user, in
// process memory or in Redis shared by every replica. Locking accounts after
// repeated failed logins is the subpackage
// [github.com/covetgo/covet/ratelimit/lockout].
//
// # Limiting requests
//
// A [Limiter] enforces one [Rate] over a [Store]:
//
//	store, _ := ratelimit.NewMemoryStore()
//	login, err := ratelimit.New(store, ratelimit.PerMinute(5), ratelimit.WithName("login"))
//	if err != nil { ... } // every configuration mistake is reported here
//	r.With(login.Handler).Post("/login", handleLogin)
//
// Rates are written "5/minute", "5/m", "100/10s" or "1000/hour;burst=20"
// ([ParseRate]) or built in code ([PerMinute], [NewRate]). Three algorithms
// are offered: [GCRA] (the default: a steady rate with a burst and exact
// reset times), [SlidingWindow] and [FixedWindow]. A request may cost more
// than one unit ([WithCost]).
//
// # Keys
//
// By default requests are keyed by [KeyByIP]: the address a clientip.Resolver
// in front established when present, else the peer address;
// a forwarded header is never read directly, since any client can forge one.
// IPv6 clients are grouped by /64. [KeyByHeader], [KeyByRoute], [KeyByUser]
// and [KeyBy] (combinations) cover the other common cases. A request
// without a key is rejected or let through, per [WithEmptyKey].
//
// # Responses
//
// Every limited response carries the RateLimit-Policy and RateLimit fields
// of [draft-ietf-httpapi-ratelimit-headers-10], for example
//
//	RateLimit-Policy: "login";q=5;w=60
//	RateLimit: "login";r=3;t=36
//
// A denied request gets 429 Too Many Requests with an
// application/problem+json body (RFC 9457) and Retry-After in whole seconds,
// rounded up so that a client that waits that long is never early. The
// legacy X-RateLimit-* headers are optional ([WithLegacyHeaders]); the 429
// response can be replaced ([WithDeniedHandler]).
//
// # Stores
//
// [MemoryStore] is sharded (no limiter-wide lock), expires keys lazily with
// a bounded sweep, and holds at most a fixed number of keys; see its
// documentation for what happens at the cap.
//
// [RedisStore] makes each decision in one round trip: one Lua script run by
// EVALSHA (reloaded after NOSCRIPT) that takes the time from Redis TIME, so
// replicas with skewed clocks agree, and sets an expiry so idle keys vanish.
// Keys carry a hash tag, so Redis Cluster works. When Redis fails or is
// slower than the per-call timeout (50 ms by default), a [FailurePolicy]
// decides: [FailOpen], [FailClosed] or [LocalFallback] (a [MemoryStore] per
// replica). A circuit breaker stops an outage from adding the timeout to
// every request. Failures and policy decisions are reported through
// log/slog and an optional hook ([WithEventHook]).
//
// # Outages
//
// Every Redis call has its own deadline, and every covet Redis client
// (this store, the lockout, the token store, the cache) shares one
// circuit-breaker behaviour: after 5 consecutive failures Redis is left
// alone for 2 s, then a single call probes it, so an outage costs one
// timeout per cooldown rather than one per request; each opening and
// closing is logged once. While Redis is unavailable the [FailurePolicy]
// decides: a [RedisStore] defaults to [FailOpen]; the lockout takes the
// same policies and defaults to [LocalFallback].
//
// [draft-ietf-httpapi-ratelimit-headers-10]: https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/10/
package ratelimit
