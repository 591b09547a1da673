// Package pool opens configured database pools and provides a bounded,
// generic resource pool for everything else (HTTP or gRPC clients, network
// connections).
//
// # Database pools
//
// [Open] returns an *sqlx.DB for a URL:
//
//   - postgres:// or postgresql:// through pgx v5's database/sql driver. The
//     statement timeout is a session setting sent at connect time; a
//     cancelled context sends a cancel request to the server, so the query
//     stops there too rather than running on after the client left; a
//     server that does not acknowledge it within Config.CancelTimeout (an
//     unreachable one) has the connection closed, so the call returns.
//   - any other scheme through a [Driver] that a driver package registered,
//     as database/sql drivers do: importing
//     [github.com/covetgo/covet/pool/sqlite] adds sqlite://path and file:path
//     through the pure Go modernc.org/sqlite driver, with WAL journaling, a
//     busy timeout and foreign keys on.
//
// You link only what you import: a PostgreSQL program links neither SQLite
// nor Prometheus.
//
// [Config] maps the usual pool settings: PoolSize connections are kept idle,
// MaxOverflow more may be opened under load (database/sql's max open is
// PoolSize+MaxOverflow), Recycle bounds a connection's lifetime, MaxIdleTime
// closes connections idle for longer, and Open pings with retry and backoff
// until ConnectTimeout so a service that starts before its database waits
// for it instead of failing. [ConfigFromEnv] reads the same settings from
// DATABASE_* variables and names every bad variable in one error.
//
// The defaults (10 kept, 10 more under load) are deliberately smaller than
// the often-copied 50 + 100: PostgreSQL allows 100 connections by default,
// so 150 per replica exhausts the server with the first replica.
//
// # Acquire timeout
//
// database/sql has no acquire timeout of its own: a query waits for a free
// connection until its context ends. Config.PoolTimeout is enforced where
// this package acquires a connection: [Conn] (and [InTx], which uses it)
// bound the wait for a free connection, or the dial of a new one, by
// PoolTimeout and return an error matching [ErrPoolTimeout]. Once acquired,
// the connection is not bound by that deadline. Plain db.QueryContext calls
// are bounded only by their own context.
//
// # Transactions
//
// [InTx] runs a function in a transaction: commit on success, rollback on
// error or panic, and a retry with jittered exponential backoff when
// PostgreSQL reports a serialization failure (SQLSTATE 40001) or a deadlock
// (40P01).
//
// # Observability
//
// The package exports no collector or check of its own: the metrics
// package's RegisterDB exports an *sql.DB's pool statistics to Prometheus,
// and the health package's SQLPing turns it into a readiness check.
//
// # Resource pools
//
// [Resources] is a bounded pool of any resource built on
// [github.com/jackc/puddle/v2]: factory, reset and validate hooks, a maximum
// size, a minimum of idle resources kept warm, maximum lifetime, idle time
// and number of uses, Acquire with a wait deadline, release or destroy, and a
// Close that waits for resources in use.
package pool
