// Package cachex is a typed two-tier cache: an in-process tier bounded by
// bytes, a Redis tier shared by replicas, or both, with stampede control and
// an HTTP response cache on top.
//
// # Tiers
//
// [New] with no options gives an in-process cache (otter's W-TinyLFU,
// bounded by the bytes of the encoded values). [WithRedis] adds Redis (a
// single node, a Cluster or a Ring through redis.UniversalClient); together
// they read in-process first, then Redis, and a Redis hit is copied in
// process for at most the local TTL, never past the Redis TTL. [WithoutLocal]
// keeps Redis only.
//
// Replicas keep each other's in-process tiers honest through Redis pub/sub:
// Set, SetMany, Delete and InvalidateTag publish what changed with the
// sender's origin ID, and every other replica drops its copies. When the
// subscription drops and is re-established, the replica flushes its whole
// in-process tier, since it may have missed messages.
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
// runs detached from them (bounded by the load timeout), so the first
// caller giving up does not fail the rest. Options add stale-while-revalidate
// ([WithStaleWhileRevalidate]: serve the stale value, refresh once in the
// background), stale-if-error ([WithStaleIfError]), negative caching of
// [ErrNotFound] ([WithNegativeTTL]) and TTL jitter ([WithJitter]).
//
// Redis trouble never fails a read: it falls through to the loader. Writes
// are best effort for GetOrLoad and reported (wrapping [ErrRedis]) by Set,
// SetMany, Delete and InvalidateTag. Every Redis call has a timeout
// ([WithTimeouts]).
//
// # Tags
//
// Values stored with [Tags] record the current version of each tag;
// [Cache.InvalidateTag] gives the tags new versions, after which those values
// read as misses everywhere. There are no per-tag key sets to grow, orphan or
// clean up: old values just expire.
//
// # Observability
//
// [Cache.Stats] counts hits, misses, stale reads and errors per tier, and
// loads. [NewCollector] exports them to a Prometheus registry you pass in.
//
// # HTTP
//
// [NewHTTPCache] caches whole responses of GET (and serves HEAD from them),
// status 200 by default, keyed on the normalised URL, configured headers and
// the response's Vary headers. It honours s-maxage and max-age, never stores
// responses with Set-Cookie, private, no-store or no-cache, bypasses
// requests with Authorization or cookies unless a per-user key is
// configured, answers If-None-Match with 304, and marks responses with
// X-Cache (HIT, MISS or STALE) and Age.
//
// # Goroutines
//
// A cache with Redis and an in-process tier runs one subscriber goroutine;
// loads and background refreshes run on goroutines owned by the cache.
// [Cache.Close] stops and waits for all of them.
package cachex
