package cachex

import (
	"time"

	"github.com/maypok86/otter/v2"
)

// newLocal builds the in-process tier: an otter cache (W-TinyLFU admission
// and eviction) bounded by the bytes of the encoded values it holds. An
// entry lives until its hard expiry, and, when a shared tier is the source of truth,
// no longer than the local TTL so that a lost invalidation heals.
func newLocal[V any](cfg *config) (*otter.Cache[string, *entry[V]], error) {
	capped := cfg.shared != nil
	localTTL := cfg.localTTL
	now := cfg.now
	return otter.New(&otter.Options[string, *entry[V]]{
		MaximumWeight: uint64(cfg.localBytes),
		Weigher: func(k string, e *entry[V]) uint32 {
			return uint32(min(uint64(len(k))+uint64(e.size), 1<<31))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(en otter.Entry[string, *entry[V]]) time.Duration {
			d := time.Duration(en.Value.hard-now().UnixMilli()) * time.Millisecond
			if capped && d > localTTL {
				d = localTTL
			}
			return max(d, time.Millisecond)
		}),
		// Maintenance runs on the calling goroutine: no goroutines of the
		// cache's own beyond the periodic clean-up that Close stops.
		Executor: func(fn func()) { fn() },
	})
}
