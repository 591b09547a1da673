// Package covet is a set of small, independent net/http packages that take a
// Go HTTP service to production. There is no framework: each package plugs
// into chi or the standard library's ServeMux on its own, and a service picks
// the ones it needs.
//
// # Packages
//
//   - [github.com/covetgo/covet/health]: liveness, readiness with parallel,
//     time-bounded and cached checks, system information, and a shutdown
//     drain.
//   - [github.com/covetgo/covet/metrics]: Prometheus HTTP middleware labelled
//     by route pattern, the /metrics handler, and a slog access log.
//   - [github.com/covetgo/covet/securehdr]: security headers, CSP with
//     per-request nonces, HTTPS redirect, allowed hosts and CORS.
//   - [github.com/covetgo/covet/ratelimit]: GCRA, sliding and fixed windows
//     over memory or Redis ([github.com/covetgo/covet/ratelimit/redisstore])
//     and 429 responses with RateLimit headers;
//     [github.com/covetgo/covet/ratelimit/lockout] locks accounts after
//     repeated failed logins (in Redis:
//     [github.com/covetgo/covet/ratelimit/lockout/redisstore]).
//   - [github.com/covetgo/covet/pool]: sqlx databases opened with validated
//     pool settings, and a generic bounded resource pool.
//   - [github.com/covetgo/covet/cachex]: a typed two-tier cache, in-process
//     and Redis ([github.com/covetgo/covet/cachex/redisstore]), with msgpack,
//     compression and stampede control, and an HTTP response cache; stats
//     for Prometheus in [github.com/covetgo/covet/cachex/cachemetrics].
//   - [github.com/covetgo/covet/jwtauth]: access and refresh tokens with key
//     rotation, middleware, CSRF and ready login, refresh and logout
//     handlers, with refresh families and the denylist in memory or Redis
//     ([github.com/covetgo/covet/jwtauth/redisstore], needs noeviction);
//     [github.com/covetgo/covet/jwtauth/password] hashes and checks
//     passwords and runs the login check.
//   - [github.com/covetgo/covet/stream]: CSV and NDJSON streaming of large
//     query results in constant memory; stream/pgcopy adds PostgreSQL COPY.
//   - [github.com/covetgo/covet/backupkit]: file and stream backups to a
//     directory, with manifests, retention and verified restore; S3 storage,
//     PostgreSQL and Redis in backupkit/s3store, backupkit/pgdump and
//     backupkit/redisrdb.
//
// # How they compose
//
// Packages never import each other. Where two must cooperate, the consumer
// declares a one-method interface or a context accessor and the service wires
// them: jwtauth/password consults a lockout interface that ratelimit/lockout
// satisfies; the access log reads a user ID that the auth middleware sets. The
// example command (go run ./example) is a complete service that composes every
// package on chi, and the place to copy from.
//
// # Conventions
//
// Every package follows the same rules, so what a user learns in one holds in
// the others:
//
//   - Middleware is a func(http.Handler) http.Handler or a type whose method
//     is Handler(next http.Handler) http.Handler. Endpoints are http.Handlers
//     the service mounts where it likes.
//   - Required arguments are positional; optional ones are ...Option values
//     (or a Config struct whose zero value means the defaults). An option that
//     does not apply to a constructor is a compile error or a construction
//     error, never silently ignored.
//   - Configuration mistakes fail at construction, never during a request.
//     Every package names its sentinel ErrInvalidConfig; its message starts
//     with the package name ("ratelimit: invalid configuration: ..."), and
//     every constructor error caused by a bad setting matches it with
//     errors.Is.
//   - A Redis-backed type takes its key prefix as an option of its
//     constructor, WithKeyPrefix. Each has its own non-empty default, and a
//     prefix may not hold braces, so hash tags stay the package's to place.
//   - A type that logs takes its logger through WithLogger and otherwise
//     uses slog.Default(), read once at construction. Failures these
//     packages log (a Redis outage, a broken stream) are operational events
//     a service wants to see; a silent default would hide them. To silence
//     one, pass slog.New(slog.DiscardHandler).
//   - Turning a default off is an explicit option (jwtauth's
//     WithoutCookies, cachex's WithoutLocal, securehdr's Config.Omit),
//     never an empty string or a zero that also means "default".
//   - HTTP errors are application/problem+json (RFC 9457) with nosniff and
//     no-store, naming the problem without internals; Go callers get
//     sentinels they can match with errors.Is, and every HTTP-facing type
//     takes an ErrorHandler to replace the response.
//   - Exported names earn their place: one way to do a thing, defaults
//     documented on the option rather than exported as constants.
package covet
