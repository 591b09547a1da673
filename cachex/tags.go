package cachex

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tags are versioned namespaces. Each tag has a random version, kept in
// Redis (or in process without Redis); a value records the versions of its
// tags when it is stored, and reads as a miss once any of them has changed.
// Invalidating a tag is one write of a new version: no set of member keys
// to maintain or orphan, and the old values simply expire. Versions are
// random rather than counters so that a version key lost to Redis eviction
// can never bring old values back.
type tagStore struct {
	rdb     redis.UniversalClient
	prefix  string
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time

	mu sync.Mutex
	m  map[string]tagVer
}

type tagVer struct {
	ver     uint64
	expires time.Time // zero: never (in-process only)
}

func (s *tagStore) init(rdb redis.UniversalClient, prefix string, ttl, timeout time.Duration, now func() time.Time) {
	s.rdb, s.prefix, s.ttl, s.timeout = rdb, prefix, ttl, timeout
	s.m = make(map[string]tagVer)
	s.now = now
}

func (s *tagStore) key(tag string) string { return s.prefix + "\x00tag\x00" + tag }

func randomVersion() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1 // never 0
}

// refs returns the current versions of tags, creating versions for tags
// seen for the first time.
func (s *tagStore) refs(ctx context.Context, tags []string) ([]tagRef, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	if len(tags) > maxTags {
		return nil, fmt.Errorf("%w: %d tags, at most %d", ErrInvalid, len(tags), maxTags)
	}
	refs := make([]tagRef, len(tags))
	var missing []int
	now := s.now()
	s.mu.Lock()
	for i, t := range tags {
		refs[i].name = t
		v, ok := s.m[t]
		switch {
		case ok && (v.expires.IsZero() || now.Before(v.expires)):
			refs[i].ver = v.ver
		case s.rdb == nil:
			s.prune(now)
			v = tagVer{ver: randomVersion()}
			s.m[t] = v
			refs[i].ver = v.ver
		default:
			missing = append(missing, i)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return refs, nil
	}
	ctx, cancel := boundCtx(ctx, s.timeout)
	defer cancel()
	gets := make([]*redis.StringCmd, len(missing))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for j, i := range missing {
			k := s.key(tags[i])
			p.SetNX(ctx, k, strconv.FormatUint(randomVersion(), 10), 0)
			gets[j] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: tag versions: %w", ErrRedis, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now)
	for j, i := range missing {
		v, err := gets[j].Uint64()
		if err != nil {
			return nil, fmt.Errorf("%w: tag %q version: %w", ErrRedis, tags[i], err)
		}
		refs[i].ver = v
		s.m[tags[i]] = tagVer{ver: v, expires: now.Add(s.ttl)}
	}
	return refs, nil
}

// valid reports whether every tag in refs still has the recorded version.
// A version that cannot be read counts as changed.
func (s *tagStore) valid(ctx context.Context, refs []tagRef) bool {
	if len(refs) == 0 {
		return true
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.name
	}
	cur, err := s.refs(ctx, names)
	if err != nil {
		return false
	}
	for i, r := range refs {
		if cur[i].ver != r.ver {
			return false
		}
	}
	return true
}

// bump gives tags new versions.
func (s *tagStore) bump(ctx context.Context, tags []string) error {
	vers := make([]uint64, len(tags))
	for i := range tags {
		vers[i] = randomVersion()
	}
	if s.rdb != nil {
		ctx, cancel := boundCtx(ctx, s.timeout)
		defer cancel()
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, t := range tags {
				p.Set(ctx, s.key(t), strconv.FormatUint(vers[i], 10), 0)
			}
			return nil
		})
		if err != nil {
			s.forget(tags)
			return fmt.Errorf("%w: invalidate tags: %w", ErrRedis, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range tags {
		v := tagVer{ver: vers[i]}
		if s.rdb != nil {
			v.expires = s.now().Add(s.ttl)
		}
		s.m[t] = v
	}
	return nil
}

// maxTagVersions bounds the versions kept in process. Forgetting a version
// is always safe: a cached one is read again from Redis, and an in-process
// one is replaced by a new version, which only turns its values into
// misses.
const maxTagVersions = 1 << 16

// prune keeps the version map bounded; s.mu is held.
func (s *tagStore) prune(now time.Time) {
	if len(s.m) < maxTagVersions {
		return
	}
	for t, v := range s.m {
		if !v.expires.IsZero() && !now.Before(v.expires) {
			delete(s.m, t)
		}
	}
	if len(s.m) >= maxTagVersions {
		clear(s.m)
	}
}

// forget drops cached versions so the next use reads them from Redis.
func (s *tagStore) forget(tags []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tags {
		delete(s.m, t)
	}
}

// forgetAll drops every cached version (after a subscriber reconnect).
func (s *tagStore) forgetAll() {
	if s.rdb == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}

// InvalidateTag makes every value stored with any of tags a miss, in every
// tier and on every replica. Errors wrap ErrRedis; on such an error the
// invalidation may not have reached Redis and should be retried.
func (c *Cache[V]) InvalidateTag(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	if err := c.tags.bump(ctx, tags); err != nil {
		c.stats.redis.errors.Add(1)
		return err
	}
	if c.rdb == nil || !c.cfg.invalidate {
		return nil
	}
	ctx, cancel := c.redisCtx(ctx)
	defer cancel()
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		c.publish(ctx, p, msgTags, tags)
		return nil
	})
	return c.redisErr("publish", err)
}
