package cachex

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Tags are versioned namespaces. Each tag has a random version, kept in
// the shared tier (or in process without one); a value records the versions of its
// tags when it is stored, and reads as a miss once any of them has changed.
// Invalidating a tag is one write of a new version: no set of member keys
// to maintain or orphan, and the old values simply expire. Versions are
// random rather than counters so that a version key lost to Redis eviction
// can never bring old values back.
//
// Versions read from the shared tier are kept in process for the local TTL
// and forgotten when another replica's invalidation message names them.
// When the cache relies on those messages, it keeps and uses them only
// while it is subscribed (live): otherwise a message may go missing, and
// every version is read from the shared tier.
type tagStore struct {
	shared Shared
	ttl    time.Duration
	now    func() time.Time
	live   *atomic.Bool // nil: kept versions need no subscription

	mu  sync.Mutex
	m   map[string]tagVer
	gen uint64 // bumped whenever versions are forgotten or replaced
}

type tagVer struct {
	ver     uint64
	expires time.Time // zero: never (in-process only)
}

func (s *tagStore) init(shared Shared, ttl time.Duration, now func() time.Time, live *atomic.Bool) {
	s.shared, s.ttl, s.now, s.live = shared, ttl, now, live
	s.m = make(map[string]tagVer)
}

// trusted reports whether versions kept in process may be used.
func (s *tagStore) trusted() bool { return s.live == nil || s.live.Load() }

// tagKey is where the shared tier keeps tag's version.
func tagKey(tag string) string { return "\x00tag\x00" + tag }

func formatVersion(v uint64) []byte { return strconv.AppendUint(nil, v, 10) }

func randomVersion() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1 // never 0
}

// refs returns the current versions of tags, creating versions for tags
// seen for the first time. Versions kept in process are used while
// trusted; the others are read from the shared tier in one call, and kept
// unless a message or a flush has made them doubtful meanwhile.
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
	trusted := s.trusted()
	s.mu.Lock()
	gen := s.gen
	for i, t := range tags {
		refs[i].name = t
		v, ok := s.m[t]
		switch {
		case ok && trusted && (v.expires.IsZero() || now.Before(v.expires)):
			refs[i].ver = v.ver
		case s.shared == nil:
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
	keys := make([]string, len(missing))
	fresh := make([][]byte, len(missing))
	for j, i := range missing {
		keys[j], fresh[j] = tagKey(tags[i]), formatVersion(randomVersion())
	}
	vals, err := s.shared.Add(ctx, keys, fresh)
	if err != nil {
		return nil, fmt.Errorf("%w: tag versions: %w", ErrShared, err)
	}
	for j, i := range missing {
		v, err := strconv.ParseUint(string(vals[j]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: tag %q version %q: %w", ErrShared, tags[i], vals[j], err)
		}
		refs[i].ver = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A version forgotten or replaced (or a flush) while this one was
	// read may be newer than it: keeping this one could outlive the
	// invalidation. Nor is one kept while the cache is not live.
	if s.gen != gen || !s.trusted() {
		return refs, nil
	}
	s.prune(now)
	for _, i := range missing {
		s.m[tags[i]] = tagVer{ver: refs[i].ver, expires: now.Add(s.ttl)}
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

// bump gives tags new versions, publishing note with them.
func (s *tagStore) bump(ctx context.Context, tags []string, note []byte) error {
	vers := make([]uint64, len(tags))
	for i := range tags {
		vers[i] = randomVersion()
	}
	if s.shared != nil {
		keys := make([]string, len(tags))
		vals := make([][]byte, len(tags))
		for i, t := range tags {
			keys[i], vals[i] = tagKey(t), formatVersion(vers[i])
		}
		if err := s.shared.Set(ctx, keys, vals, make([]time.Duration, len(tags)), note); err != nil {
			s.forget(tags)
			return fmt.Errorf("%w: invalidate tags: %w", ErrShared, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A version read concurrently may be the old one: gen keeps it from
	// being kept over the new one.
	s.gen++
	if !s.trusted() {
		for _, t := range tags {
			delete(s.m, t)
		}
		return nil
	}
	now := s.now()
	s.prune(now)
	for i, t := range tags {
		v := tagVer{ver: vers[i]}
		if s.shared != nil {
			v.expires = now.Add(s.ttl)
		}
		s.m[t] = v
	}
	return nil
}

// maxTagVersions bounds the versions kept in process. Forgetting a version
// is always safe: a cached one is read again from the shared tier, and an in-process
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

// forget drops cached versions so the next use reads them from the shared
// tier.
func (s *tagStore) forget(tags []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	for _, t := range tags {
		delete(s.m, t)
	}
}

// forgetAll drops every cached version (after a subscriber reconnect).
func (s *tagStore) forgetAll() {
	if s.shared == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	clear(s.m)
}

// InvalidateTag makes every value stored with any of tags a miss, in every
// tier and on every replica. Errors wrap ErrShared; on such an error the
// invalidation may not have reached the shared tier and should be retried.
func (c *Cache[V]) InvalidateTag(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	if err := c.tags.bump(ctx, tags, c.note(msgTags, tags)); err != nil {
		c.stats.shared.errors.Add(1)
		return err
	}
	return nil
}
