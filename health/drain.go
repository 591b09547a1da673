package health

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Drain flips readiness to fail ("shutting down", 503) at once, so that load
// balancers stop sending new traffic while requests in flight finish.
// Liveness is unaffected. Drain is idempotent and cannot be undone.
func (c *Checker) Drain() { c.draining.Store(true) }

// Draining reports whether Drain (or Close) has been called.
func (c *Checker) Draining() bool { return c.draining.Load() }

// Shutdown runs the graceful shutdown of srv: Drain, then wait delay so that
// load balancers see the failing readiness and stop sending, then
// srv.Shutdown with a deadline of timeout. If the deadline passes, the
// remaining connections are closed and the error wraps
// context.DeadlineExceeded.
//
// Cancelling ctx cuts the delay short (for instance on a second signal); the
// Shutdown deadline still applies. A typical delay is a few probe periods of
// the load balancer (5–15 s); timeout bounds the requests in flight.
// Shutdown does not Close the Checker.
func (c *Checker) Shutdown(ctx context.Context, srv *http.Server, delay, timeout time.Duration) error {
	if srv == nil {
		return fmt.Errorf("%w: shutdown: nil server", ErrInvalidConfig)
	}
	if delay < 0 || timeout <= 0 {
		return fmt.Errorf("%w: shutdown: delay %v must not be negative and timeout %v must be positive", ErrInvalidConfig, delay, timeout)
	}
	c.Drain()
	if delay > 0 {
		wait, stop := c.cfg.after(delay)
		select {
		case <-wait:
		case <-ctx.Done():
		}
		stop()
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("health: shutdown: %w", err)
	}
	return nil
}
