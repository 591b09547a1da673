// Package redisdeadline runs a Redis call within its context's deadline
// whatever the client: go-redis stops at a context deadline only when built
// with ContextTimeoutEnabled; otherwise it waits for its own read and dial
// timeouts (seconds). Shared by every covet type that talks to Redis.
package redisdeadline

import (
	"context"

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
