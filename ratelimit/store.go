package ratelimit

import (
	"context"
	"errors"
)

// Store keeps rate-limit state and makes decisions atomically per key.
// [MemoryStore] and the Redis store of
// [github.com/covetgo/covet/ratelimit/redisstore] implement it; both are
// safe for concurrent use.
type Store interface {
	// Take decides whether cost may be spent on key under rate r with
	// algorithm alg, and spends it if so.
	Take(ctx context.Context, key string, r Rate, alg Algorithm, cost int64) (Decision, error)
}

// ErrInvalidCost is returned (wrapped) for a negative cost.
var ErrInvalidCost = errors.New("ratelimit: cost must not be negative")

// ErrInvalidConfig is wrapped by every constructor error caused by a bad
// argument or option, [ErrInvalidRate] included.
var ErrInvalidConfig = errors.New("ratelimit: invalid configuration")

func checkTake(r Rate, alg Algorithm, cost int64) error {
	if cost < 0 {
		return ErrInvalidCost
	}
	if !alg.valid() {
		return errors.Join(ErrInvalidConfig, errors.New("ratelimit: unknown algorithm "+alg.String()))
	}
	return r.Validate()
}
