package rediscache

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Subscribe hands deliver every note published by other replicas' Set and
// Delete (and its own), until ctx ends. It calls state(true) each time the
// subscription is established and state(false) each time it is lost: notes
// published in between are lost, so the caller must drop what they would
// have invalidated. After a loss it retries with a backoff from 50 ms to
// 5 s. deliver and state run on the calling goroutine.
func (t *Tier) Subscribe(ctx context.Context, deliver func(note []byte), state func(up bool)) {
	ps := t.c.Subscribe(ctx, t.channel)
	// A blocked Receive does not watch its context; closing the
	// subscription ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		stop()
		_ = ps.Close()
	}()
	up := false
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if up {
				up = false
				state(false)
			}
			t.cfg.logger.WarnContext(ctx, "rediscache: invalidation subscription failed", "prefix", t.cfg.prefix, "err", err)
			tm := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				tm.Stop()
				return
			case <-tm.C:
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				backoff = 50 * time.Millisecond
				up = true
				state(true)
			}
		case *redis.Message:
			deliver([]byte(m.Payload))
		}
	}
}
