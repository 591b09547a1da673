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
//     over memory or Redis, 429 responses with RateLimit headers, and account
//     lockout.
//   - [github.com/covetgo/covet/pool]: sqlx databases opened with validated
//     pool settings, and a generic bounded resource pool.
//   - [github.com/covetgo/covet/cachex]: a typed two-tier cache (in-process and
//     Redis) with msgpack, compression and stampede control, and an HTTP
//     response cache.
//   - [github.com/covetgo/covet/jwtauth]: access and refresh tokens with key
//     rotation, middleware, CSRF and password hashing.
//   - [github.com/covetgo/covet/stream]: CSV and NDJSON streaming of large
//     query results in constant memory.
//   - [github.com/covetgo/covet/backupkit]: PostgreSQL, file and Redis backups
//     to a directory or S3, with manifests, retention and verified restore.
//
// # How they compose
//
// Packages never import each other. Where two must cooperate, the consumer
// declares a one-method interface or a context accessor and the service wires
// them: jwtauth consults a lockout interface that ratelimit's lockout
// satisfies; the access log reads a user ID that the auth middleware sets. The
// example command (go run ./example) is a complete service that composes every
// package on chi, and the place to copy from.
package covet
