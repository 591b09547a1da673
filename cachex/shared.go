package cachex

import (
	"context"
	"time"
)

// Shared is the tier a cache shares with its replicas, as the cache uses
// it: *redisstore.Store (package [github.com/covetgo/covet/cachex/redisstore])
// is one. Keys are the cache's own; the tier namespaces them. Values are
// opaque envelopes.
//
// Every method returns an error when the tier cannot be reached. The cache
// never fails a read because of one (it reads as a miss, so the loader and
// the in-process tier serve); writes report it wrapped in [ErrShared]. A
// tier should therefore answer fast while it is down: redisstore bounds
// every call and refuses calls at once while its circuit breaker is open.
//
// Implementations must be safe for concurrent use.
type Shared interface {
	// Get returns the value under each key, nil where there is none.
	Get(ctx context.Context, keys []string) ([][]byte, error)
	// Set stores values[i] under keys[i] for ttls[i] (0: no expiry) and,
	// when note is not nil, publishes note to every subscriber.
	Set(ctx context.Context, keys []string, values [][]byte, ttls []time.Duration, note []byte) error
	// Add stores values[i] under keys[i] without expiry unless the key
	// exists, and returns the value now stored under each key.
	Add(ctx context.Context, keys []string, values [][]byte) ([][]byte, error)
	// Delete removes keys and, when note is not nil, publishes it.
	Delete(ctx context.Context, keys []string, note []byte) error
	// Subscribe hands deliver the published notes until ctx ends, calling
	// state(true) each time the subscription is established and
	// state(false) each time it is lost.
	Subscribe(ctx context.Context, deliver func(note []byte), state func(up bool))
}
