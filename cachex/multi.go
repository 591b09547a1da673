package cachex

import (
	"context"
	"fmt"
	"time"
)

// GetMany returns the fresh values cached under keys; absent keys are left
// out of the map. Keys missing in process are fetched from the shared tier
// in one call (redisstore: one pipeline of GETs, so keys may lie in
// different cluster slots). Trouble with the shared tier reads as misses.
// While the cache is not subscribed to invalidations, every key is
// fetched from the shared tier, and the in-process tier answers only when
// the shared one cannot (as for Get).
func (c *Cache[V]) GetMany(ctx context.Context, keys []string) (map[string]V, error) {
	out := make(map[string]V, len(keys))
	now := c.nowMs()
	direct := c.direct()
	var rest []string
	for _, k := range keys {
		if c.local != nil && !direct {
			if e := c.findLocal(ctx, k, now, true); e != nil {
				if now < e.soft && !e.notFound {
					out[k] = e.val
				}
				continue
			}
		}
		rest = append(rest, k)
	}
	if len(rest) == 0 || c.shared == nil {
		return out, nil
	}
	var gens []uint64
	if c.local != nil {
		gens = make([]uint64, len(rest))
		for i, k := range rest {
			gens[i] = c.fence.gen(k).Load()
		}
	}
	vals, err := c.shared.Get(ctx, rest)
	if err != nil {
		c.stats.shared.errors.Add(1)
		if direct && c.local != nil {
			// As for Get: the in-process copies serve in an outage.
			for _, k := range rest {
				if e := c.findLocal(ctx, k, now, true); e != nil && now < e.soft && !e.notFound {
					out[k] = e.val
				}
			}
		}
		return out, nil
	}
	for i, k := range rest {
		if direct && c.local != nil {
			c.stats.local.misses.Add(1)
		}
		e := new(entry[V])
		if !c.accept(ctx, k, vals[i], now, true, e) {
			continue
		}
		if c.local != nil {
			c.fill(k, e, c.fence.gen(k), gens[i])
		}
		if now < e.soft && !e.notFound {
			out[k] = e.val
		}
	}
	return out, nil
}

// SetMany stores every value of items for ttl, with one call to the shared
// tier (and one invalidation message) for all of them. Failures of the
// shared tier are returned wrapped in ErrShared after the in-process tier
// is updated.
func (c *Cache[V]) SetMany(ctx context.Context, items map[string]V, ttl time.Duration, opts ...ItemOption) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: SetMany: ttl %v must be positive", ErrInvalid, ttl)
	}
	if len(items) == 0 {
		return nil
	}
	if _, ok := items[""]; ok {
		return fmt.Errorf("%w: SetMany: empty key", ErrInvalid)
	}
	it := itemOptions(opts)
	refs, err := c.tags.refs(ctx, it.tags)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(items))
	vals := make([]V, 0, len(items))
	for k, v := range items {
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return c.storeAll(ctx, keys, vals, false, ttl, refs, true)
}
