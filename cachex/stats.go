package cachex

import "sync/atomic"

// TierStats counts the outcomes of reads from one tier.
type TierStats struct {
	// Hits counts fresh values served.
	Hits uint64
	// Misses counts reads that found nothing usable (absent, expired,
	// invalidated, foreign or corrupt).
	Misses uint64
	// Stale counts values served past their TTL (stale-while-revalidate or
	// stale-if-error).
	Stale uint64
	// Errors counts failed calls to the tier (shared tier only), including
	// calls the tier refused while its circuit breaker was open.
	Errors uint64
}

// Stats is a snapshot of a cache's counters since New.
type Stats struct {
	// Local is the in-process tier.
	Local TierStats
	// Shared is the shared tier (Redis).
	Shared TierStats
	// Loads counts loader calls; LoadErrors those that failed (ErrNotFound
	// is not a failure).
	Loads, LoadErrors uint64
	// Resubscribes counts re-established invalidation subscriptions, each
	// of which flushed the in-process tier.
	Resubscribes uint64
	// LocalBytes and LocalEntries describe the in-process tier's content.
	LocalBytes   uint64
	LocalEntries int
}

type tierCounters struct {
	hits, misses, stale, errors atomic.Uint64
	_                           [32]byte // keeps the tiers' hot counters on separate cache lines
}

func (t *tierCounters) hit(stale bool) {
	if stale {
		t.stale.Add(1)
	} else {
		t.hits.Add(1)
	}
}

func (t *tierCounters) snapshot() TierStats {
	return TierStats{Hits: t.hits.Load(), Misses: t.misses.Load(), Stale: t.stale.Load(), Errors: t.errors.Load()}
}

type counters struct {
	local, shared                   tierCounters
	loads, loadErrors, resubscribes atomic.Uint64
}

// Stats returns the cache's counters.
func (c *Cache[V]) Stats() Stats {
	s := Stats{
		Local:        c.stats.local.snapshot(),
		Shared:       c.stats.shared.snapshot(),
		Loads:        c.stats.loads.Load(),
		LoadErrors:   c.stats.loadErrors.Load(),
		Resubscribes: c.stats.resubscribes.Load(),
	}
	if c.local != nil {
		s.LocalBytes = c.local.WeightedSize()
		s.LocalEntries = c.local.EstimatedSize()
	}
	return s
}
