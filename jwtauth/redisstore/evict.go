package redisstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/redisdeadline"
)

// checkEviction refuses a Redis whose maxmemory-policy may evict keys
// unless [WithEvictionAllowed] was given, and warns when the policy cannot
// be read.
func (s *Store) checkEviction(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, max(s.cfg.timeout, checkTimeout))
	defer cancel()
	var policy string
	var evictable bool
	err := redisdeadline.Do(cctx, s.aware, func(ctx context.Context) (err error) {
		policy, evictable, err = evictionPolicy(ctx, s.c)
		return err
	})
	log := s.cfg.logger
	switch {
	case err != nil:
		log.Warn("redisstore: could not read maxmemory-policy; make sure it is noeviction, or revoked tokens may work again",
			"err", err)
	case evictable && !s.cfg.allowEviction:
		return fmt.Errorf("%w: redis maxmemory-policy is %q, which may evict revocations and refresh records; set it to noeviction (or pass WithEvictionAllowed)",
			ErrInvalidConfig, policy)
	case evictable:
		log.Warn("redisstore: redis may evict keys (WithEvictionAllowed): an evicted revocation is a token that works again",
			"maxmemory-policy", policy)
	}
	return nil
}

// evictionPolicy reads maxmemory-policy, from every master of a cluster,
// and reports whether it lets Redis evict keys that have a TTL (every key
// of this package has one).
func evictionPolicy(ctx context.Context, c redis.UniversalClient) (policy string, evictable bool, err error) {
	one := func(ctx context.Context, c redis.UniversalClient) (string, error) {
		m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return "", err
		}
		p, ok := m["maxmemory-policy"]
		if !ok {
			return "", fmt.Errorf("CONFIG GET maxmemory-policy: no value")
		}
		return p, nil
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			p, err := one(ctx, n)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if policy == "" || p != "noeviction" {
				policy = p
			}
			return nil
		})
	} else {
		policy, err = one(ctx, c)
	}
	if err != nil {
		return "", false, err
	}
	return policy, policy != "noeviction", nil
}
