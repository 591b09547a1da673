package app

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// A request crosses several Redis-backed parts one after the other: a login
// asks the rate limits, the lockout (twice) and the refresh store. Each part
// has its own deadline and circuit breaker, so when Redis stops answering, a
// request that reaches each part before that part's breaker opens (or while
// it probes) waits for each deadline in turn: 50 + 50 + 500 + 500 + 250 ms
// for a login, before this budget. redisBudget, a hook on the client all the
// parts share, makes a request pay for one failed call, not one per part:
// once a call made for a request has failed, the request's later calls get
// at most REDIS_TIMEOUT each. The parts' failure policies still decide what
// each failure means (a local count, 503 with Retry-After, the loader).

// redisFailedKey is the context key of a request's Redis failure flag.
type redisFailedKey struct{}

// withRedisBudget gives each request a flag that records a failed Redis call.
func withRedisBudget(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), redisFailedKey{}, new(atomic.Bool))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// redisBudget is a go-redis hook that enforces the request budget. Safe for
// concurrent use.
type redisBudget struct {
	after time.Duration // the deadline of each call once one has failed
}

var _ redis.Hook = (*redisBudget)(nil)

func (*redisBudget) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b *redisBudget) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, flag, cancel := b.bound(ctx)
		defer cancel()
		err := next(ctx, cmd)
		b.record(ctx, flag, err)
		return err
	}
}

func (b *redisBudget) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, flag, cancel := b.bound(ctx)
		defer cancel()
		err := next(ctx, cmds)
		b.record(ctx, flag, err)
		return err
	}
}

// bound shortens ctx's deadline to b.after when the request has already
// seen Redis fail.
func (b *redisBudget) bound(ctx context.Context) (context.Context, *atomic.Bool, context.CancelFunc) {
	flag, _ := ctx.Value(redisFailedKey{}).(*atomic.Bool)
	if flag == nil || !flag.Load() {
		return ctx, flag, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= b.after {
		return ctx, flag, func() {}
	}
	ctx, cancel := context.WithTimeout(ctx, b.after)
	return ctx, flag, cancel
}

// record sets the request's flag when err says Redis is unavailable: not a
// miss, not an error reply (Redis answered), not the client going away.
func (*redisBudget) record(ctx context.Context, flag *atomic.Bool, err error) {
	if flag != nil && unavailable(ctx, err) {
		flag.Store(true)
	}
}

func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply) && !errors.Is(err, context.DeadlineExceeded)
}

func unavailable(ctx context.Context, err error) bool {
	switch {
	case err == nil, errors.Is(err, redis.Nil), isReply(err):
		return false
	case errors.Is(err, context.Canceled) && context.Cause(ctx) == context.Canceled:
		return false // the client went away
	}
	return true
}
