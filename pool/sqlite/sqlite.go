package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/covetgo/covet/pool"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Driver is the pool.Driver for SQLite through the pure Go modernc.org/sqlite
// driver. Importing this package registers it for the sqlite: and file: URL
// schemes; use it directly only to register it under further schemes.
type Driver struct{}

var _ pool.Driver = Driver{}

func init() { pool.Register(Driver{}, "sqlite", "file") }

// Open returns a handle for sqlite://path, sqlite:///absolute/path,
// sqlite:path or file:path with WAL journaling (except for :memory:),
// cfg.BusyTimeout as the busy timeout and foreign keys on, unless the URL's
// _pragma parameters set them. It does not connect.
func (Driver) Open(cfg pool.Config) (*sql.DB, string, error) {
	dsn, err := dsnOf(cfg)
	if err != nil {
		return nil, "", err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", pool.ErrInvalidConfig, err)
	}
	return db, "sqlite", nil
}

// dsnOf turns the URL into a modernc DSN with WAL, a busy timeout and
// foreign keys.
func dsnOf(c pool.Config) (string, error) {
	raw := c.URL
	var path, query string
	switch {
	case strings.HasPrefix(raw, "sqlite://"):
		path, query, _ = strings.Cut(strings.TrimPrefix(raw, "sqlite://"), "?")
	case strings.HasPrefix(raw, "sqlite:"):
		path, query, _ = strings.Cut(strings.TrimPrefix(raw, "sqlite:"), "?")
	default:
		path, query, _ = strings.Cut(strings.TrimPrefix(raw, "file:"), "?")
	}
	if path == "" {
		return "", fmt.Errorf("%w: SQLite URL has no path", pool.ErrInvalidConfig)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("%w: SQLite URL query does not parse", pool.ErrInvalidConfig)
	}
	has := func(name string) bool {
		for _, p := range q["_pragma"] {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), name) {
				return true
			}
		}
		return false
	}
	if !has("journal_mode") && path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	busy := c.BusyTimeout
	if busy <= 0 {
		busy = pool.DefaultBusyTimeout
	}
	if !has("busy_timeout") {
		q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	}
	if !has("foreign_keys") {
		q.Add("_pragma", "foreign_keys(1)")
	}
	return "file:" + path + "?" + q.Encode(), nil
}
