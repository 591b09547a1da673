package pool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrPoolTimeout is matched (errors.Is) by Conn's and InTx's error when no
// connection could be had within the acquire timeout. The error also wraps
// context.DeadlineExceeded.
var ErrPoolTimeout = errors.New("pool: timed out waiting for a connection")

// Conn takes one connection from db, waiting at most timeout for a free one
// (or for a new one to be dialled). timeout ≤ 0 waits until ctx ends. Only
// the wait is bounded: the returned connection lives until the caller closes
// it, which returns it to the pool. Pass Config.PoolTimeout to apply the
// configured acquire timeout.
func Conn(ctx context.Context, db *sqlx.DB, timeout time.Duration) (*sqlx.Conn, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: Conn: nil db", ErrInvalidConfig)
	}
	if timeout <= 0 {
		return db.Connx(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := db.Connx(actx)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w (%s): %w", ErrPoolTimeout, timeout, err)
	}
	return c, err
}
