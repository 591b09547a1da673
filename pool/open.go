package pool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// ErrConnect is matched (errors.Is) by Open's error when the database did not
// answer a ping before Config.ConnectTimeout.
var ErrConnect = errors.New("pool: database did not answer")

// Open opens a pool for cfg.URL with cfg's settings and, unless
// cfg.SkipPrePing, pings it with retry and jittered exponential backoff until
// it answers, ctx ends or cfg.ConnectTimeout passes. Configuration mistakes
// return an error matching ErrInvalidConfig, and so do settings the URL's
// database does not use (StatementTimeout, CancelTimeout, SSLMode or
// QueryTracer for SQLite; BusyTimeout for PostgreSQL); an unreachable
// database one
// matching ErrConnect (and wrapping the last ping error).
//
// The returned *sqlx.DB is safe for concurrent use; the caller closes it.
func Open(ctx context.Context, cfg Config) (*sqlx.DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	d, err := driverFor(c.URL)
	if err != nil {
		return nil, err
	}
	if err := cfg.fitsDriver(d == nil); err != nil {
		return nil, err
	}
	var db *sqlx.DB
	if d == nil {
		cc, err := pgxConfig(c)
		if err != nil {
			return nil, err
		}
		db = sqlx.NewDb(stdlib.OpenDB(*cc), "pgx")
	} else {
		sdb, name, err := d.Open(c)
		if err != nil {
			return nil, err
		}
		db = sqlx.NewDb(sdb, name)
	}
	db.SetMaxOpenConns(c.MaxOpen())
	db.SetMaxIdleConns(c.PoolSize)
	db.SetConnMaxLifetime(max(c.Recycle, 0))
	db.SetConnMaxIdleTime(max(c.MaxIdleTime, 0))
	if c.SkipPrePing {
		return db, nil
	}
	if err := prePing(ctx, db, c.ConnectTimeout); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// pgxConfig parses the URL with the SSL mode override and adds the session
// settings and server-side cancellation.
func pgxConfig(c Config) (*pgx.ConnConfig, error) {
	raw := c.URL
	if c.SSLMode != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: database URL does not parse", ErrInvalidConfig)
		}
		q := u.Query()
		q.Set("sslmode", c.SSLMode)
		u.RawQuery = q.Encode()
		raw = u.String()
	}
	cc, err := pgx.ParseConfig(raw)
	if err != nil {
		// pgx's message may quote the URL; keep only the kind of problem.
		return nil, fmt.Errorf("%w: database URL does not parse as a PostgreSQL URL", ErrInvalidConfig)
	}
	if cc.ConnectTimeout == 0 || cc.ConnectTimeout > c.ConnectTimeout {
		cc.ConnectTimeout = c.ConnectTimeout
	}
	if c.StatementTimeout > 0 {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(c.StatementTimeout.Milliseconds(), 1), 10)
	}
	// A cancelled context asks the server to cancel the running statement
	// (then closes the socket if it does not stop within CancelTimeout),
	// instead of only dropping the connection while the query runs on.
	cancelWait := c.CancelTimeout
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: cancelWait}
	}
	if c.QueryTracer != nil {
		cc.Tracer = c.QueryTracer
	}
	return cc, nil
}

// prePing pings db until it answers or the connect deadline passes.
func prePing(ctx context.Context, db *sqlx.DB, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		wait := delay/2 + rand.N(delay/2+1)
		delay = min(delay*2, 2*time.Second)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w after %d attempts within %s: %w", ErrConnect, attempt, timeout, err)
		case <-t.C:
		}
	}
}

// fitsDriver refuses settings that the URL's database would ignore: a
// setting that silently does nothing is a mistake found in production.
func (c Config) fitsDriver(postgres bool) error {
	var errs []error
	if postgres {
		if c.BusyTimeout != 0 {
			errs = append(errs, fmt.Errorf("%w: BusyTimeout applies to SQLite, not PostgreSQL", ErrInvalidConfig))
		}
	} else {
		for name, set := range map[string]bool{
			"StatementTimeout": c.StatementTimeout != 0,
			"CancelTimeout":    c.CancelTimeout != 0,
			"SSLMode":          c.SSLMode != "",
			"QueryTracer":      c.QueryTracer != nil,
		} {
			if set {
				errs = append(errs, fmt.Errorf("%w: %s applies to PostgreSQL only", ErrInvalidConfig, name))
			}
		}
	}
	if c.QueryTracer != nil {
		if typednil.Is(c.QueryTracer) {
			errs = append(errs, fmt.Errorf("%w: QueryTracer is a nil %T", ErrInvalidConfig, c.QueryTracer))
		}
	}
	return errors.Join(errs...)
}
