// Package cachex is a typed two-tier cache: an in-process tier bounded by
// bytes, a tier shared by replicas (Redis), or both, with stampede control
// and an HTTP response cache on top.
//
// # Tiers
//
// [New] with no options gives an in-process cache (otter's W-TinyLFU,
// bounded by the bytes of the encoded values, [WithLocal]). [WithShared]
// adds a tier shared by every replica: package
// [github.com/covetgo/covet/cachex/redisstore] is the Redis one (a single
// node, a Cluster or a Ring). It is a package of its own so that a program
// using only the in-process tier does not link go-redis; the cache sees it
// through the small [Shared] interface. Together the tiers read in-process
// first, then shared, and a shared hit is copied in process for at most
// [WithLocalTTL], never past its own TTL. [WithoutLocal] keeps the shared
// tier only.
//
// Replicas keep each other's in-process tiers honest through the shared
// tier's pub/sub: Set, SetMany, Delete and InvalidateTag publish what
// changed with the sender's origin ID, and every other replica drops its
// copies. Fills are not changes and are not published: a value a loader
// returned (GetOrLoad) or a response stored after a miss holds what any
// replica would have loaded, and publishing it would make every other
// replica drop a valid copy and read it again.
//
// # Staleness
//
// A replica trusts its in-process tier, and the tag versions it keeps in
// process, only while it is subscribed to those messages. While it is, a
// value changed, deleted or invalidated on another replica is served from
// its in-process tier for at most the time the message takes to arrive.
// While it is not (from [New] until the subscription is first
// established, and from its loss until it is back), messages may be going
// missing, so it reads through: every read asks the shared tier, and reads
// tag versions there too; the in-process tier answers only when the shared
// tier cannot (see Outages). Each time the subscription is established,
// the first time included, the replica flushes its in-process tier and
// tag versions before trusting them again. A copy read from the shared
// tier is not kept in process if a message about its key arrived while it
// was being read.
//
// [WithLocalTTL] remains the backstop, for what the subscription cannot
// see: a connection that dies without being noticed, copies served in
// process while the shared tier is down, and caches built
// [WithoutInvalidation]. A cache [WithoutLocal] does not subscribe: it
// reads tag versions from the shared tier on every use.
//
// # Outages
//
// Trouble with the shared tier never fails a read: it reads as a miss, so
// the loader and the in-process tier serve. (The subscription is down
// too, so a read asks the shared tier before the in-process tier; while
// redisstore's breaker is open that is refused at once.) Writes are best
// effort for GetOrLoad and reported (wrapping [ErrShared]) by Set,
// SetMany, Delete and InvalidateTag. redisstore follows covet's one Redis
// outage policy: a deadline per call and a circuit breaker, so while Redis
// is down a read costs the loader's time plus microseconds, not a timeout.
// Values stored
// with [Tags] are loaded but not stored while the shared tier is down (their
// tag versions cannot be read, and a value stored without them would
// escape a later invalidation).
//
// # Envelope
//
// Values are encoded with msgpack, compressed (S2 by default, or zstd) when
// at least the threshold (1 KiB) and only when smaller, and wrapped in an
// envelope: magic bytes, format version, codec, compression, soft and hard
// expiry, tag versions and a CRC-32C. A value that is not an envelope (say,
// written under the same key by another library) or that is damaged reads
// as a miss and is deleted, never as an error, a panic or garbage.
//
// # Loading
//
// [Cache.GetOrLoad] runs one load per key however many callers miss at once.
// Each caller waits only as long as its own context allows, and the load
// runs detached from them (bounded by [WithLoadTimeout]), so the first
// caller giving up does not fail the rest. Options add
// stale-while-revalidate ([WithStaleWhileRevalidate]: serve the stale
// value, refresh once in the background), stale-if-error
// ([WithStaleIfError]), negative caching of [ErrNotFound]
// ([WithNegativeTTL]) and TTL jitter ([WithJitter]).
//
// # Tags
//
// Values stored with [Tags] record the current version of each tag;
// [Cache.InvalidateTag] gives the tags new versions, after which those values
// read as misses everywhere. There are no per-tag key sets to grow, orphan or
// clean up: old values just expire.
//
// # Configuration
//
// New refuses, with an error wrapping [ErrInvalidConfig], bad values, a nil
// tier (also a typed nil such as a nil *redisstore.Store), and options that
// would not apply: [WithLocalTTL], [WithoutLocal] and [WithoutInvalidation]
// without a shared tier, [WithoutLocal] with [WithLocal] or [WithLocalTTL].
//
// # Observability
//
// [Cache.Stats] counts hits, misses, stale reads and errors per tier, and
// loads. Package [github.com/covetgo/covet/cachex/cachemetrics] exports them
// to a Prometheus registry you pass in.
//
// # HTTP
//
// [NewHTTPCache] caches whole responses of GET (and serves HEAD from them),
// status 200 by default, keyed on the normalised URL, configured headers and
// the response's Vary headers. It honours s-maxage and max-age, never stores
// responses with Set-Cookie, private, no-store or no-cache, bypasses
// requests with Authorization or cookies unless a per-user key is
// configured, answers If-None-Match with 304, and marks responses with
// X-Cache (HIT, MISS or STALE) and Age. [WithTags] tags stored responses,
// and [HTTPCache.InvalidateTag] turns them into misses on every replica.
// Concurrent misses of one key run the handler once per process: the
// others wait for it, up to [WithMissWait] (1 s by default, as a cache lock
// in a reverse proxy), and are served what it stored, so a popular page
// that expires or is invalidated costs one handler run, not one per
// request that arrives before the first has finished.
//
// It stores and replays only the headers that describe the representation:
// Cache-Control, Content-Disposition, Content-Encoding, Content-Language,
// Content-Location, Content-Type, ETag, Expires, Last-Modified, Link and
// Vary, plus any added with [WithReplayedHeaders]. Per-request headers
// (X-Request-Id, RateLimit fields, Retry-After, Set-Cookie, Date,
// traceparent and other tracing headers, Server-Timing...) are never
// stored, so a hit carries its own request ID and rate-limit fields, set by
// the middleware around the cache, never those of the request that filled
// it.
//
// # Goroutines
//
// A cache with a shared tier and an in-process tier runs one subscriber
// goroutine; loads and background refreshes run on goroutines owned by the
// cache. [Cache.Close] stops and waits for all of them.
package cachex
