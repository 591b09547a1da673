package redisstore

import (
	"context"

	"github.com/covetgo/covet/internal/redisnotify"
)

// Subscribe hands deliver every note published by Set and Delete (other
// replicas' and its own), until ctx ends. It calls state(true) each time
// the subscription is established and state(false) each time it is lost:
// notes published in between are lost, so the caller must drop what they
// would have invalidated. When go-redis reconnects and resubscribes by
// itself, that counts as a loss too (state(false), then state(true) once
// subscribed afresh). After a failure it retries with a backoff from 50 ms
// to 5 s. deliver and state run on the calling goroutine, one at a time.
//
// Each attempt to connect and subscribe is abandoned after one second,
// whether or not the client has ContextTimeoutEnabled. When an established
// subscription breaks and go-redis reconnects it from inside its read,
// that reconnection is bounded only by the client's dial and read
// timeouts, so Subscribe may outlive ctx by that much if Redis freezes at
// that moment.
func (t *Store) Subscribe(ctx context.Context, deliver func(note []byte), state func(up bool)) {
	redisnotify.Run(ctx, t.c, redisnotify.Config{
		Channel: t.channel,
		Deliver: func(payload string) { deliver([]byte(payload)) },
		// The caller drops its local copies on every loss, so there is
		// nothing to reload: once the subscription is confirmed, it is up.
		Sync: func(context.Context) error {
			state(true)
			return nil
		},
		Down:   func() { state(false) },
		Logger: t.cfg.logger.With("prefix", t.cfg.prefix),
		Name:   "redisstore: invalidation",
	})
}
