// Package sqlite lets [pool.Open] open SQLite databases through the pure Go
// modernc.org/sqlite driver. Import it for its side effect, as with a
// database/sql driver:
//
//	import _ "github.com/covetgo/covet/pool/sqlite"
//
// Then pool.Open accepts sqlite://path, sqlite:///absolute/path,
// sqlite:path and file:path URLs, and opens them with WAL journaling, a busy
// timeout (Config.BusyTimeout, default 5s) and foreign keys on, unless the
// URL's _pragma query parameters say otherwise. sqlite://:memory: gives every
// connection its own empty database: use PoolSize 1 and MaxOverflow -1 with
// it.
//
// A program that opens only PostgreSQL does not import this package and so
// does not link SQLite.
package sqlite
