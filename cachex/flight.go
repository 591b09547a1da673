package cachex

import (
	"context"
	"fmt"
)

// call is one load in flight, shared by every caller that missed the key.
type call[V any] struct {
	done chan struct{}
	e    *entry[V]
	err  error
}

// startLoad makes sure a load of key is running and returns the call. The
// load runs on a goroutine of the cache with a context detached from ctx
// (values kept, cancellation dropped) and bounded by the load timeout, so it
// finishes for the others when the caller that started it goes away.
func (c *Cache[V]) startLoad(ctx context.Context, key string, fn func(context.Context) (*entry[V], error)) *call[V] {
	c.flightMu.Lock()
	if cl, ok := c.flights[key]; ok {
		c.flightMu.Unlock()
		return cl
	}
	cl := &call[V]{done: make(chan struct{})}
	c.flights[key] = cl
	c.flightMu.Unlock()

	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.loadTimeout)
	run := func() {
		defer cancel()
		defer func() {
			if r := recover(); r != nil {
				c.stats.loadErrors.Add(1)
				cl.e, cl.err = nil, fmt.Errorf("%w: %v", ErrLoaderPanic, r)
			}
			c.flightMu.Lock()
			delete(c.flights, key)
			c.flightMu.Unlock()
			close(cl.done)
		}()
		cl.e, cl.err = fn(lctx)
	}
	if !c.spawn(run) {
		run()
	}
	return cl
}

// waitLoad joins (or starts) the load of key and waits for it as long as
// ctx allows.
func (c *Cache[V]) waitLoad(ctx context.Context, key string, fn func(context.Context) (*entry[V], error)) (*entry[V], error) {
	cl := c.startLoad(ctx, key, fn)
	select {
	case <-cl.done:
		return cl.e, cl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
