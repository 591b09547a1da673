package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/redisdeadline"
)

// call runs fn under the outage policy: refused at once while the breaker
// is open, else bounded by the per-call deadline, its outcome fed to the
// breaker. A reply from Redis, even an error reply such as redis.Nil or
// WRONGTYPE, means Redis is up. A caller that gave up (ctx done) is not
// counted against Redis.
func (t *Store) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !t.brk.Allow() {
		return errOpen
	}
	var err error
	if t.aware {
		err = fn(t.bound.Context(ctx))
	} else {
		cctx, cancel := context.WithTimeout(ctx, t.cfg.timeout)
		err = redisdeadline.Do(cctx, false, fn)
		cancel()
	}
	if err == nil || isReply(err) {
		t.brk.Success()
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !t.brk.Failure(err) && !t.brk.Open() {
		t.cfg.logger.WarnContext(ctx, "redisstore: redis "+op+" failed", "prefix", t.cfg.prefix, "err", err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// isReply reports whether err is a reply from Redis rather than a failure
// to reach it.
func isReply(err error) bool {
	var re redis.Error
	return errors.Is(err, redis.Nil) || errors.As(err, &re)
}
