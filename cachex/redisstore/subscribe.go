package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// subscribeTimeout bounds connecting and subscribing (dial, handshake,
// SUBSCRIBE), so that a frozen Redis cannot hold Subscribe, or the Close of
// the cache that runs it, for the client's read timeout.
const subscribeTimeout = time.Second

// Subscribe hands deliver every note published by Set and Delete (other
// replicas' and its own), until ctx ends. It calls state(true) each time
// the subscription is established and state(false) each time it is lost:
// notes published in between are lost, so the caller must drop what they
// would have invalidated. After a failure it retries with a backoff from
// 50 ms to 5 s. deliver and state run on the calling goroutine.
//
// Subscribing is bounded by one second. When an established subscription
// breaks and go-redis reconnects it from inside Receive, that reconnection
// is bounded only by the client's dial and read timeouts, so Subscribe may
// outlive ctx by that much if Redis freezes at that moment.
func (t *Store) Subscribe(ctx context.Context, deliver func(note []byte), state func(up bool)) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		up := t.receive(ctx, deliver, state)
		if up {
			backoff = 50 * time.Millisecond
			state(false)
		}
		tm := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-tm.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// receive subscribes once and delivers notes until the subscription fails
// or ctx ends; it reports whether the subscription was ever up.
func (t *Store) receive(ctx context.Context, deliver func(note []byte), state func(up bool)) (up bool) {
	ps := t.c.Subscribe(ctx) // no channel yet: no network call
	// A blocked Receive does not watch its context; closing the
	// subscription ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		stop()
		_ = ps.Close()
	}()
	sctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	err := ps.Subscribe(sctx, t.channel)
	cancel()
	for err == nil {
		var msg any
		msg, err = ps.Receive(ctx)
		if err != nil {
			break
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if up {
					// go-redis reconnected and resubscribed by itself:
					// notes may have been lost in between.
					state(false)
				}
				up = true
				state(true)
			}
		case *redis.Message:
			deliver([]byte(m.Payload))
		}
	}
	if ctx.Err() == nil {
		t.cfg.logger.WarnContext(ctx, "redisstore: invalidation subscription failed", "prefix", t.cfg.prefix, "err", err)
	}
	return up
}
