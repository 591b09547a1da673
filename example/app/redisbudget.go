package app

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/metrics"
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

// The same hook counts each request's Redis round trips (a command, a
// pipeline, or a script's EVALSHA and, after NOSCRIPT, its EVAL each count
// one) and adds them up per route in example_redis_roundtrips_total, beside
// example_route_requests_total, so that round trips per request show per
// route: what the rate limits, the denylist and the cache cost a request
// on the wire.

// redisRequestKey is the context key of a request's *redisRequest.
type redisRequestKey struct{}

// redisRequest is one request's Redis record.
type redisRequest struct {
	failed atomic.Bool // a call failed: later calls get the short budget

	mu    sync.Mutex
	trips int64          // round trips made for the request while it ran
	route *routeCounters // set when it ends: later trips count there
}

// trip counts a round trip made for the request: one it waits for, or one
// it set off in the background (a rate-limit lease refilled ahead), which
// may end after the request, and then counts on the request's route
// directly.
func (rec *redisRequest) trip() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.route != nil {
		rec.route.trips.Inc()
		return
	}
	rec.trips++
}

// end adds the request's round trips to its route's counters.
func (rec *redisRequest) end(c *routeCounters) {
	rec.mu.Lock()
	rec.route = c
	n := rec.trips
	rec.mu.Unlock()
	c.requests.Inc()
	if n > 0 {
		c.trips.Add(float64(n))
	}
}

// redisRoutes counts requests and their Redis round trips per route
// pattern (chi's, so the label values are bounded by the routes; requests
// no route matched share "unmatched"). Safe for concurrent use.
type redisRoutes struct {
	requests, trips *prometheus.CounterVec
	byRoute         sync.Map // route pattern → *routeCounters
}

type routeCounters struct{ requests, trips prometheus.Counter }

func newRedisRoutes(reg prometheus.Registerer) (*redisRoutes, error) {
	rr := &redisRoutes{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "example_route_requests_total",
			Help: "Requests served, by route pattern (the denominator of example_redis_roundtrips_total).",
		}, []string{"route"}),
		trips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "example_redis_roundtrips_total",
			Help: "Redis round trips (commands and pipelines) made while serving requests, by route pattern.",
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{rr.requests, rr.trips} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return rr, nil
}

// Handler gives each request its Redis record (the failure flag of the
// budget and the round-trip count) and, once the request is served, adds
// it to the route's counters.
func (rr *redisRoutes) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := new(redisRequest)
		ctx := context.WithValue(r.Context(), redisRequestKey{}, rec)
		next.ServeHTTP(w, r.WithContext(ctx))
		route := ""
		if rctx := chi.RouteContext(ctx); rctx != nil {
			route = rctx.RoutePattern()
		}
		if route == "" {
			route = metrics.UnmatchedEndpoint
		}
		rec.end(rr.counters(route))
	})
}

func (rr *redisRoutes) counters(route string) *routeCounters {
	if c, ok := rr.byRoute.Load(route); ok {
		return c.(*routeCounters)
	}
	c, _ := rr.byRoute.LoadOrStore(route, &routeCounters{
		requests: rr.requests.WithLabelValues(route),
		trips:    rr.trips.WithLabelValues(route),
	})
	return c.(*routeCounters)
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
		ctx, rec, cancel := b.bound(ctx)
		defer cancel()
		err := next(ctx, cmd)
		b.record(ctx, rec, err)
		return err
	}
}

func (b *redisBudget) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, rec, cancel := b.bound(ctx)
		defer cancel()
		err := next(ctx, cmds)
		b.record(ctx, rec, err)
		return err
	}
}

// bound counts a round trip for the request and shortens ctx's deadline to
// b.after when the request has already seen Redis fail.
func (b *redisBudget) bound(ctx context.Context) (context.Context, *redisRequest, context.CancelFunc) {
	rec, _ := ctx.Value(redisRequestKey{}).(*redisRequest)
	if rec == nil {
		return ctx, nil, func() {}
	}
	rec.trip()
	if !rec.failed.Load() {
		return ctx, rec, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= b.after {
		return ctx, rec, func() {}
	}
	ctx, cancel := context.WithTimeout(ctx, b.after)
	return ctx, rec, cancel
}

// record sets the request's flag when err says Redis is unavailable: not a
// miss, not an error reply (Redis answered), not the client going away.
func (*redisBudget) record(ctx context.Context, rec *redisRequest, err error) {
	if rec != nil && unavailable(ctx, err) {
		rec.failed.Store(true)
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
