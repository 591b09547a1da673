package stream

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/jmoiron/sqlx"
)

// Keyset walks a large table in batches by key ("WHERE id > last ORDER BY
// id LIMIT n"): each batch costs its own size, where OFFSET re-reads every
// skipped row and the whole walk grows quadratically.
//
// A Keyset is not safe for concurrent use.
type Keyset[T any] struct {
	db    sqlx.QueryerContext
	query string
	size  int
	key   func(T) []any
	after []any
	done  bool
}

// NewKeyset returns an iterator over query, which takes the last key's
// values and then the batch size as arguments and orders by that key, e.g.
//
//	SELECT id, name FROM users WHERE id > $1 ORDER BY id LIMIT $2
//	SELECT * FROM events WHERE (at, id) > ($1, $2) ORDER BY at, id LIMIT $3
//
// key returns a row's key values, in the query's order; start holds the
// values to begin after (e.g. 0, or a time and an id). Rows are scanned
// with sqlx.SelectContext (structs by db tags, or a single column into a
// scalar T); db is an *sqlx.DB, *sqlx.Tx or *sqlx.Conn.
func NewKeyset[T any](db sqlx.QueryerContext, query string, size int, key func(T) []any, start ...any) (*Keyset[T], error) {
	var errs []error
	if typednil.Is(db) {
		errs = append(errs, fmt.Errorf("%w: NewKeyset: nil db", ErrInvalidConfig))
	}
	if key == nil {
		errs = append(errs, fmt.Errorf("%w: NewKeyset: nil key function", ErrInvalidConfig))
	}
	if size < 1 {
		errs = append(errs, fmt.Errorf("%w: keyset batch size %d", ErrInvalidConfig, size))
	}
	if len(start) == 0 {
		errs = append(errs, fmt.Errorf("%w: keyset needs the start key values", ErrInvalidConfig))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Keyset[T]{db: db, query: query, size: size, key: key, after: start}, nil
}

// Next returns the next batch, or an empty batch and nil once the table is
// walked. A failed batch may be retried by calling Next again.
func (k *Keyset[T]) Next(ctx context.Context) ([]T, error) {
	if k.done {
		return nil, nil
	}
	args := append(append(make([]any, 0, len(k.after)+1), k.after...), k.size)
	batch := make([]T, 0, k.size)
	if err := sqlx.SelectContext(ctx, k.db, &batch, k.query, args...); err != nil {
		return nil, fmt.Errorf("stream: keyset batch: %w", err)
	}
	if len(batch) > k.size {
		return nil, fmt.Errorf("stream: keyset query returned %d rows for a batch of %d (LIMIT missing?)", len(batch), k.size)
	}
	if len(batch) < k.size {
		k.done = true
	}
	if len(batch) > 0 {
		next := k.key(batch[len(batch)-1])
		if len(next) != len(k.after) {
			return nil, fmt.Errorf("stream: keyset key has %d values, start had %d", len(next), len(k.after))
		}
		k.after = next
	}
	return batch, nil
}

// All yields every batch in turn, then stops; it stops after yielding an
// error.
func (k *Keyset[T]) All(ctx context.Context) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		for {
			b, err := k.Next(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(b) == 0 || !yield(b, nil) {
				return
			}
		}
	}
}
