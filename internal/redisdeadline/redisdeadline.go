// Package redisdeadline runs a Redis call within its context's deadline
// whatever the client: go-redis stops at a context deadline only when built
// with ContextTimeoutEnabled; otherwise it waits for its own read and dial
// timeouts (seconds). Shared by every covet type that talks to Redis.
package redisdeadline

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// HonoursContext reports whether client's calls stop at a context deadline
// by themselves.
func HonoursContext(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// Do runs fn(ctx). When aware is false (the client does not honour context
// deadlines) fn runs in its own goroutine, which is abandoned when ctx is done
// and finishes on its own at the client's timeouts; Do then returns ctx's
// error. fn must not touch the caller's variables after ctx is done unless
// they are safe for that: use the returned error to decide whether its
// results may be read.
func Do(ctx context.Context, aware bool, fn func(ctx context.Context) error) error {
	if aware {
		return fn(ctx)
	}
	ch := make(chan error, 1)
	go func() { ch <- fn(ctx) }()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Bound hands out contexts that end a fixed timeout after the call starts,
// without a timer per call: calls that start within the same tick share one
// deadline, one channel and one timer. A per-call context.WithTimeout costs
// a timer started and stopped, three allocations and about 350 bytes; at
// tens of thousands of Redis calls a second that is a measurable share of a
// call's client-side CPU.
//
// Each context ends between d and d+tick after Context is called (the
// deadline is rounded up, never down), or at the parent's deadline when
// that comes first. It carries the parent's values but not its
// cancellation: a call in flight runs to its end or to the deadline, so
// callers check the parent before the call. A Bound is safe for concurrent
// use and needs no Close: each tick's timer fires once and is done.
type Bound struct {
	d, tick time.Duration
	cur     atomic.Pointer[window]
}

// window is the shared end of every context handed out in one tick.
type window struct {
	deadline time.Time
	done     chan struct{}
}

// NewBound returns a Bound for timeout d (> 0). The tick is d/16, at least
// 100µs and at most 5ms: a deadline is late by at most one tick.
func NewBound(d time.Duration) *Bound {
	tick := min(max(d/16, 100*time.Microsecond), 5*time.Millisecond)
	return &Bound{d: d, tick: tick}
}

// Timeout returns the timeout d.
func (b *Bound) Timeout() time.Duration { return b.d }

// Context returns a context carrying parent's values that ends d to d+tick
// from now, or parent itself when parent's deadline is sooner than that.
func (b *Bound) Context(parent context.Context) context.Context {
	now := time.Now()
	w := b.window(now)
	if dl, ok := parent.Deadline(); ok && !dl.After(w.deadline) {
		return parent
	}
	if parent.Done() != nil {
		// Detach from parent's cancellation, so that context.Cause and
		// children see this context's end rather than parent's.
		parent = context.WithoutCancel(parent)
	}
	return &boundCtx{Context: parent, w: w}
}

// window returns the current window if every context it ends gets at least
// d from now, or starts a new one.
func (b *Bound) window(now time.Time) *window {
	least := now.Add(b.d)
	w := b.cur.Load()
	if w != nil && !w.deadline.Before(least) {
		return w
	}
	nw := &window{deadline: least.Add(b.tick), done: make(chan struct{})}
	time.AfterFunc(nw.deadline.Sub(now), func() { close(nw.done) })
	b.cur.CompareAndSwap(w, nw) // a lost race keeps the other window; nw still serves this call
	return nw
}

// boundCtx is a context ending at its window's deadline.
type boundCtx struct {
	context.Context // values only: never cancelled
	w               *window
}

func (c *boundCtx) Deadline() (time.Time, bool) { return c.w.deadline, true }
func (c *boundCtx) Done() <-chan struct{}       { return c.w.done }
func (c *boundCtx) Err() error {
	select {
	case <-c.w.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *boundCtx) String() string { return "redisdeadline.Bound" }
