package pgcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/covetgo/covet/stream"
)

var (
	// ErrNotPostgres: the database handed out a connection that is not
	// pgx's stdlib one.
	ErrNotPostgres = errors.New("pgcopy: COPY needs a pgx PostgreSQL connection")
	// ErrInvalidConfig is stream's: errors.Is matches it under either name.
	ErrInvalidConfig = stream.ErrInvalidConfig
)

// Conner hands out a single connection: *sql.DB and *sqlx.DB have it.
type Conner interface {
	Conn(ctx context.Context) (*sql.Conn, error)
}

// Export streams query as CSV through e, with PostgreSQL's COPY formatting
// the rows: Export(e, w, r, db, q) is e.CSV(w, r, Source(db, q)).
//
// Header renaming, WithoutHeader, the NULL token, formula neutralising
// (with WithRawColumns) and the row and time limits apply as with
// [stream.Exporter.Query]. What differs is value formatting: each value is
// PostgreSQL's own text output in the session's settings (booleans t/f;
// timestamps like "2006-01-02 15:04:05.999999+00" in the session TimeZone;
// floats may use exponents) instead of Query's typed formatting; format in
// the query (to_char, or to_json(ts)#>>'{}' for ISO 8601) where that
// matters. e must write CSV.
//
// COPY takes no arguments: COPY cannot bind parameters, so query is spliced
// into the statement and must be a constant or built only from trusted
// parts, never from request input. db must be a pool on pgx's stdlib driver
// (ErrNotPostgres otherwise); opened with a context watcher that sends
// cancel requests (as package pool does), a client that leaves stops the
// COPY on the server at once.
//
// Errors are handled and returned as by Query, ErrAborted included; a nil
// e or db is refused with an error wrapping ErrInvalidConfig.
func Export(e *stream.Exporter, w http.ResponseWriter, r *http.Request, db Conner, query string) error {
	if e == nil {
		return fmt.Errorf("%w: Export: nil Exporter", ErrInvalidConfig)
	}
	return e.CSV(w, r, Source(db, query))
}

// Source returns a [stream.CSVSource] that runs COPY (query) TO STDOUT
// (FORMAT csv, HEADER) on one connection of db. See Export for query's
// constraints. A nil db gives a source that fails with ErrInvalidConfig.
func Source(db Conner, query string) stream.CSVSource {
	return func(ctx context.Context, dst io.Writer, null string) error {
		if typednil.Is(db) {
			return fmt.Errorf("%w: nil db", ErrInvalidConfig)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("%w (driver connection %T)", ErrNotPostgres, dc)
			}
			_, err := c.Conn().PgConn().CopyTo(ctx, dst, statement(query, null))
			return err
		})
	}
}

// statement wraps query in COPY ... TO STDOUT.
func statement(query, null string) string {
	// The newline keeps a trailing "-- comment" in query from swallowing the rest.
	stmt := "COPY (" + strings.TrimRight(strings.TrimSpace(query), "; \t\r\n") + "\n) TO STDOUT (FORMAT csv, HEADER"
	if null != "" {
		stmt += ", NULL '" + strings.ReplaceAll(null, "'", "''") + "'"
	}
	return stmt + ")"
}
