// Package ratelimit limits request rates per client, route or user, in
// process memory or, with [github.com/covetgo/covet/ratelimit/redisstore],
// in Redis shared by every replica. Locking accounts after repeated failed
// logins is the subpackage [github.com/covetgo/covet/ratelimit/lockout].
//
// This package needs only the standard library: a program that limits in
// memory links neither go-redis nor chi. Each heavy dependency comes with
// the subpackage that needs it.
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
// Both fields are lists of items, one per quota policy, each named by its
// string (section 3 of the draft), so limiters can be stacked: a global
// limiter in front of the router and a route's limiter inside it each add
// their own item, and the response describes every policy that applied
// (give stacked limiters distinct names: the draft forbids two items for
// one policy):
//
//	RateLimit-Policy: "global";q=100;w=60, "login";q=5;w=60
//	RateLimit: "global";r=97;t=2, "login";r=3;t=36
//
// The remaining count r never exceeds the quota q, even while a burst above
// the limit ([Rate.WithBurst]) would let more through at once.
//
// A denied request gets 429 Too Many Requests with an
// application/problem+json body (RFC 9457) and Retry-After in whole seconds,
// rounded up so that a client that waits that long is never early. The
// legacy X-RateLimit-* headers are optional ([WithLegacyHeaders]); they
// cannot hold a list, so with stacked limiters they describe the most
// restrictive policy (least remaining). The 429 response can be replaced
// ([WithDeniedHandler]).
//
// # Stores
//
// [MemoryStore] is sharded (no limiter-wide lock), expires keys lazily with
// a bounded sweep, and holds at most a fixed number of keys; see its
// documentation for what happens at the cap.
//
// The Redis store of [github.com/covetgo/covet/ratelimit/redisstore] makes
// each decision in one round trip (or, leasing allowance in batches, one
// per batch, with a bounded slack) and keeps deciding through an outage by
// a [FailurePolicy]: [FailOpen], [FailClosed] or [LocalFallback] (a
// [MemoryStore] per replica). The policies are defined here so that every
// store shared through a remote service, the Redis lockout included, names
// them the same way.
//
// # Configuration errors
//
// Every constructor reports every configuration mistake, wrapped in
// [ErrInvalidConfig]: a nil store (or a nil pointer in the interface), a nil
// option or a nil function given to an option, an invalid name or rate
// ([ErrInvalidRate] wraps ErrInvalidConfig too). Nothing fails during a
// request because of configuration.
//
// [draft-ietf-httpapi-ratelimit-headers-10]: https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/10/
package ratelimit
