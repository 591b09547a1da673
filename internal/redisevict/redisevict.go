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
	"log/slog"
	"sync"
	"time"

	"github.com/covetgo/covet/internal/redisdeadline"
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

// Requirement says what a store keeping state in Redis needs of its
// eviction policy, and what it tells its operator.
type Requirement struct {
	// Name starts every log line ("lockout/redisstore").
	Name string
	// Keeps names what eviction would drop, for the refusal
	// ("revocations and refresh records").
	Keeps string
	// Loss says what eviction costs ("revoked tokens may work again").
	Loss string
	// Refuse makes an evicting Redis an error (security state) unless
	// Allowed; without it an evicting Redis is only logged (soft state).
	Refuse, Allowed bool
	// Aware says the client stops at context deadlines by itself (see
	// redisdeadline.Do); Timeout bounds the check within ctx.
	Aware   bool
	Timeout time.Duration
	// Logger receives the warnings; it must not be nil.
	Logger *slog.Logger
}

// Enforce reads c's maxmemory-policy (within ctx and r.Timeout) and applies
// r: an evicting Redis is refused with an error (to be wrapped in the
// caller's ErrInvalidConfig) when r.Refuse and not r.Allowed, and logged
// once otherwise. A server that refuses CONFIG, or cannot be reached, is
// logged and let through, so that managed Redis services work and replicas
// start during an outage; the policy is not checked again.
func Enforce(ctx context.Context, c redis.UniversalClient, r Requirement) error {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	var policy string
	var evictable bool
	err := redisdeadline.Do(ctx, r.Aware, func(ctx context.Context) (err error) {
		policy, evictable, err = Check(ctx, c)
		return err
	})
	switch {
	case errors.Is(err, ErrUnknownPolicy):
		r.Logger.Warn(r.Name+": redis refused to tell its maxmemory-policy (CONFIG refused); it must be noeviction, or "+r.Loss, "err", err)
	case err != nil:
		r.Logger.Warn(r.Name+": cannot read redis maxmemory-policy (redis unreachable); it must be noeviction, or "+r.Loss, "err", err)
	case !evictable:
	case r.Refuse && !r.Allowed:
		return fmt.Errorf("redis maxmemory-policy is %q, which may evict %s; set it to noeviction (or pass WithEvictionAllowed)", policy, r.Keeps)
	case r.Refuse:
		r.Logger.Warn(r.Name+": redis may evict keys, allowed by WithEvictionAllowed: "+r.Loss, "maxmemory-policy", policy)
	default:
		r.Logger.Warn(r.Name+": redis may evict keys: "+r.Loss, "maxmemory-policy", policy)
	}
	return nil
}
