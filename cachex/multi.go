package cachex

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// GetMany returns the fresh values cached under keys; absent keys are left
// out of the map. Keys missing in process are fetched from Redis in one
// pipeline of GETs (never MGET, so keys may lie in different cluster slots:
// a cluster client splits the pipeline by node). Redis trouble reads as
// misses.
func (c *Cache[V]) GetMany(ctx context.Context, keys []string) (map[string]V, error) {
	out := make(map[string]V, len(keys))
	now := c.nowMs()
	var rest []string
	for _, k := range keys {
		if c.local != nil {
			if e, ok := c.local.GetIfPresent(k); ok && now < e.hard && c.tags.valid(ctx, e.tags) {
				c.stats.local.hit(now >= e.soft)
				if now < e.soft && !e.notFound {
					out[k] = e.val
				}
				continue
			}
			c.stats.local.misses.Add(1)
		}
		rest = append(rest, k)
	}
	if len(rest) == 0 || c.rdb == nil {
		return out, nil
	}
	rctx, cancel := c.redisCtx(ctx)
	defer cancel()
	cmds := make([]*redis.StringCmd, len(rest))
	_, err := c.rdb.Pipelined(rctx, func(p redis.Pipeliner) error {
		for i, k := range rest {
			cmds[i] = p.Get(rctx, c.cfg.prefix+k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		c.stats.redis.errors.Add(1)
		c.log.WarnContext(ctx, "cachex: redis multi-get failed", "err", err)
	}
	for i, k := range rest {
		b, err := cmds[i].Bytes()
		if err != nil {
			if errors.Is(err, redis.Nil) {
				c.stats.redis.misses.Add(1)
			}
			continue
		}
		e, err := c.decodeEntry(b)
		if err != nil {
			c.dropForeign(ctx, k)
			c.stats.redis.misses.Add(1)
			continue
		}
		if now >= e.hard || !c.tags.valid(ctx, e.tags) {
			c.stats.redis.misses.Add(1)
			continue
		}
		c.stats.redis.hit(now >= e.soft)
		if c.local != nil {
			c.local.Set(k, e)
		}
		if now < e.soft && !e.notFound {
			out[k] = e.val
		}
	}
	return out, nil
}

// SetMany stores every value of items for ttl, with one Redis pipeline (and
// one invalidation message) for all of them. Redis failures are returned
// wrapped in ErrRedis after the in-process tier is updated.
func (c *Cache[V]) SetMany(ctx context.Context, items map[string]V, ttl time.Duration, opts ...ItemOption) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: SetMany(ttl %v)", ErrInvalid, ttl)
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
	envs := make([][]byte, 0, len(items))
	exps := make([]time.Duration, 0, len(items))
	for k, v := range items {
		e, env, err := c.makeEntry(v, false, ttl, refs)
		if err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		if c.local != nil {
			c.local.Set(k, e)
		}
		keys = append(keys, k)
		envs = append(envs, env)
		exps = append(exps, max(time.Duration(e.hard-c.nowMs())*time.Millisecond, time.Millisecond))
	}
	if c.rdb == nil {
		return nil
	}
	ctx, cancel := c.redisCtx(ctx)
	defer cancel()
	_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			p.Set(ctx, c.cfg.prefix+k, envs[i], exps[i])
		}
		c.publish(ctx, p, msgKeys, keys)
		return nil
	})
	return c.redisErr("multi-set", err)
}
