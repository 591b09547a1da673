// Package redisevict tells whether a Redis server may evict keys, so that a
// type keeping security state in Redis (a lockout) can refuse a server that
// would silently forget it, and a type keeping only soft state (a rate-limit
// counter) can warn.
//
// The answer is read from CONFIG GET maxmemory-policy. Every policy other
// than noeviction counts as evictable, even while maxmemory is 0 (no limit):
// the limit can be set at runtime without a restart, and volatile-* policies
// evict exactly the keys that carry a TTL, which is every key covet writes.
// Managed services (ElastiCache, MemoryStore, some Azure tiers) refuse or
// rename CONFIG; Check then returns an error wrapping [ErrUnknownPolicy] so
// the caller can warn and go on rather than refuse to start.
package redisevict

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// NoEviction is the only maxmemory-policy under which Redis never drops a
// key to make room: writes fail with an OOM error instead.
const NoEviction = "noeviction"

// ErrUnknownPolicy is returned (wrapped) when the server answered but would
// not tell its policy: CONFIG refused, renamed or denied by an ACL, as
// managed Redis services do. Network and timeout errors do not wrap it.
var ErrUnknownPolicy = errors.New("redisevict: maxmemory-policy unknown")

// Check returns c's maxmemory-policy and whether it lets Redis evict keys.
// On a cluster client every master is asked; evictable is true when any of
// them may evict, and policy is then that master's policy (otherwise the
// policy they share). A server that refuses CONFIG GET yields an error
// wrapping [ErrUnknownPolicy]; other errors (unreachable server, ctx done)
// are returned as they are. c must not be nil.
func Check(ctx context.Context, c redis.UniversalClient) (policy string, evictable bool, err error) {
	if cc, ok := c.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			p, err := get(ctx, n)
			if err != nil {
				return fmt.Errorf("%s: %w", n.Options().Addr, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if policy == "" || (!evictable && p != NoEviction) {
				policy, evictable = p, p != NoEviction
			}
			return nil
		})
		if err != nil {
			return "", false, err
		}
		return policy, evictable, nil
	}
	p, err := get(ctx, c)
	if err != nil {
		return "", false, err
	}
	return p, p != NoEviction, nil
}

// get reads one server's policy.
func get(ctx context.Context, c redis.Cmdable) (string, error) {
	m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		var re redis.Error
		if errors.As(err, &re) {
			// The server answered with an error reply: CONFIG is unknown,
			// renamed or not permitted for this user.
			return "", fmt.Errorf("%w: %w", ErrUnknownPolicy, err)
		}
		return "", fmt.Errorf("redisevict: config get maxmemory-policy: %w", err)
	}
	p, ok := m["maxmemory-policy"]
	if !ok || p == "" {
		return "", fmt.Errorf("%w: config get returned no maxmemory-policy", ErrUnknownPolicy)
	}
	return p, nil
}
