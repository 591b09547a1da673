package pool

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// Driver opens a database/sql handle for the URL schemes it is registered
// for. PostgreSQL (postgres://, postgresql://) is built in; other databases
// come from a driver package imported for its side effect, as database/sql
// drivers do: importing [github.com/covetgo/covet/pool/sqlite] makes Open
// accept sqlite: and file: URLs. A program that imports no such package links
// no other driver.
type Driver interface {
	// Open returns a handle for cfg.URL, with cfg's defaults applied, and
	// the driver name sqlx uses to choose its bind-variable style. It must
	// not connect: Open applies the pool settings and pings afterwards.
	// Configuration errors wrap ErrInvalidConfig and never quote the URL.
	Open(cfg Config) (db *sql.DB, sqlxDriver string, err error)
}

// drivers maps a URL scheme to its Driver. Like database/sql's driver list,
// it is written only from driver packages' init functions.
var drivers = struct {
	sync.RWMutex
	m map[string]Driver
}{m: map[string]Driver{}}

// Register makes Open use d for URLs whose scheme is one of schemes (without
// the colon). It is meant to be called from a driver package's init
// function and panics when d is nil, no scheme is given or a scheme is
// already taken, since those are programming mistakes.
func Register(d Driver, schemes ...string) {
	if d == nil || len(schemes) == 0 {
		panic("pool: Register needs a driver and at least one scheme")
	}
	drivers.Lock()
	defer drivers.Unlock()
	for _, s := range schemes {
		if _, dup := drivers.m[s]; dup || s == "postgres" || s == "postgresql" {
			panic("pool: Register called twice for scheme " + s)
		}
		drivers.m[s] = d
	}
}

// schemeOf returns the scheme of a database URL, "" when it has none.
func schemeOf(raw string) string {
	s, _, ok := strings.Cut(raw, ":")
	if !ok || s == "" || strings.ContainsAny(s, "/?#@") {
		return ""
	}
	return strings.ToLower(s)
}

// driverFor returns the registered driver for raw's scheme, nil for
// PostgreSQL, or an error matching ErrInvalidConfig.
func driverFor(raw string) (Driver, error) {
	scheme := schemeOf(raw)
	switch scheme {
	case "postgres", "postgresql":
		return nil, nil
	case "":
		if raw == "" {
			return nil, fmt.Errorf("%w: database URL is empty", ErrInvalidConfig)
		}
		return nil, fmt.Errorf("%w: database URL has no scheme", ErrInvalidConfig)
	}
	drivers.RLock()
	d := drivers.m[scheme]
	drivers.RUnlock()
	if d == nil {
		if _, err := url.Parse(raw); err != nil { // keep the scheme out of a message about a URL that may not be one
			scheme = "unknown"
		}
		return nil, fmt.Errorf("%w: no driver for database URL scheme %q (postgres and postgresql are built in; import the driver package, such as pool/sqlite, for others)", ErrInvalidConfig, scheme)
	}
	return d, nil
}
