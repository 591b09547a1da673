package pool

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
)

// ErrRetriesExhausted is matched (errors.Is) by InTx's error when every
// attempt failed with a retryable error; the last database error stays
// reachable with errors.As.
var ErrRetriesExhausted = errors.New("pool: transaction retries exhausted")

// TxOption configures InTx.
type TxOption func(*txConfig)

type txConfig struct {
	opts        *sql.TxOptions
	attempts    int
	base, max   time.Duration
	acquireWait time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
}

// WithTxOptions sets the isolation level and read-only flag (default: the
// driver's default isolation, read-write).
func WithTxOptions(o *sql.TxOptions) TxOption { return func(c *txConfig) { c.opts = o } }

// WithMaxAttempts sets how many times InTx runs fn at most (default 5;
// values below 1 mean 1).
func WithMaxAttempts(n int) TxOption { return func(c *txConfig) { c.attempts = max(n, 1) } }

// WithBackoff sets the first and the largest wait between attempts
// (default 10ms and 1s); each wait is drawn uniformly up to the current cap,
// which doubles after each attempt.
func WithBackoff(base, maxWait time.Duration) TxOption {
	return func(c *txConfig) { c.base, c.max = max(base, time.Millisecond), max(maxWait, base, time.Millisecond) }
}

// WithAcquireTimeout bounds the wait for a connection at each attempt, as
// Conn does (pass Config.PoolTimeout). Default: the context alone.
func WithAcquireTimeout(d time.Duration) TxOption { return func(c *txConfig) { c.acquireWait = d } }

// Retryable reports whether err is a PostgreSQL serialization failure
// (SQLSTATE 40001) or deadlock (40P01), after which the whole transaction
// may be run again.
func Retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// InTx runs fn in a transaction on one connection of db and commits when fn
// returns nil. It rolls back when fn returns an error or panics (the panic
// goes on after the rollback). When fn or the commit fails with a Retryable
// error, InTx rolls back, waits a jittered backoff and runs fn again, up to
// the maximum attempts; fn must therefore have no effect outside the
// transaction. Other errors are returned as they are.
func InTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error, opts ...TxOption) error {
	switch {
	case db == nil:
		return fmt.Errorf("%w: InTx: nil db", ErrInvalidConfig)
	case fn == nil:
		return fmt.Errorf("%w: InTx: nil fn", ErrInvalidConfig)
	}
	c := txConfig{attempts: 5, base: 10 * time.Millisecond, max: time.Second, sleep: sleepCtx}
	for _, o := range opts {
		o(&c)
	}
	ceil := c.base
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, db, &c, fn)
		if err == nil || !Retryable(err) {
			return err
		}
		if attempt >= c.attempts {
			return fmt.Errorf("%w after %d attempts: %w", ErrRetriesExhausted, attempt, err)
		}
		if serr := c.sleep(ctx, rand.N(ceil)+1); serr != nil {
			return fmt.Errorf("pool: transaction retry stopped: %w (last error: %w)", serr, err)
		}
		ceil = min(ceil*2, c.max)
	}
}

func runTx(ctx context.Context, db *sqlx.DB, c *txConfig, fn func(*sqlx.Tx) error) (err error) {
	conn, err := Conn(ctx, db, c.acquireWait)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTxx(ctx, c.opts)
	if err != nil {
		return fmt.Errorf("pool: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		done = true
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("pool: rollback: %w", rerr))
		}
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pool: commit: %w", err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
