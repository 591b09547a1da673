package jwtauth

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// defaultVerifiedCache is the number of verified access tokens remembered
// ([WithVerifiedCache]).
const defaultVerifiedCache = 4096

// maxVerifiedCache is the largest size [WithVerifiedCache] accepts.
const maxVerifiedCache = 1 << 20

// WithVerifiedCache sets how many verified access tokens [Auth.Verify]
// remembers so that a token presented again skips the signature check and
// the JSON decoding (default 4096 entries; 0 turns the cache off;
// at most 1<<20). The package overview explains what is still
// checked on every request.
func WithVerifiedCache(entries int) Option {
	return func(c *config) { c.use("WithVerifiedCache"); c.cacheSize = entries }
}

// verifiedCache remembers the claims of tokens that passed full
// verification under one key ring, keyed by the SHA-256 of the exact token
// string. Entries are immutable once stored. It is bounded: a full shard
// drops an arbitrary entry (map iteration order is random) to make room.
type verifiedCache[C any] struct {
	shards []cacheShard[C]
	per    int // entries per shard
}

type cacheShard[C any] struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]*cacheEntry[C]
	_  [40]byte // keep neighbouring shards' locks off one cache line
}

// cacheEntry is a verified token's claims and the window in which the
// parser's time checks still pass: from max(iat, nbf) − leeway (inclusive)
// to exp + leeway (exclusive).
type cacheEntry[C any] struct {
	claims C
	from   time.Time
	until  time.Time
}

// newVerifiedCache returns a cache of at most entries entries, or nil when
// entries is 0.
func newVerifiedCache[C any](entries int) *verifiedCache[C] {
	if entries <= 0 {
		return nil
	}
	n := 16
	if entries < n {
		n = 1
	}
	c := &verifiedCache[C]{shards: make([]cacheShard[C], n), per: entries / n}
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]*cacheEntry[C])
	}
	return c
}

func tokenDigest(token string) [sha256.Size]byte {
	// A read-only view of the string's bytes: hashing them copies nothing
	// (a copy when built with -tags purego).
	return sha256.Sum256(stringBytes(token))
}

func (c *verifiedCache[C]) shard(d *[sha256.Size]byte) *cacheShard[C] {
	return &c.shards[int(d[0])%len(c.shards)]
}

// get returns the entry for d, or nil.
func (c *verifiedCache[C]) get(d *[sha256.Size]byte) *cacheEntry[C] {
	s := c.shard(d)
	s.mu.RLock()
	e := s.m[*d]
	s.mu.RUnlock()
	return e
}

// put stores e under d, first making room if the shard is full.
func (c *verifiedCache[C]) put(d *[sha256.Size]byte, e *cacheEntry[C]) {
	s := c.shard(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[*d]; !ok && len(s.m) >= c.per {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[*d] = e
}

// drop removes d's entry if it is still e.
func (c *verifiedCache[C]) drop(d *[sha256.Size]byte, e *cacheEntry[C]) {
	s := c.shard(d)
	s.mu.Lock()
	if s.m[*d] == e {
		delete(s.m, *d)
	}
	s.mu.Unlock()
}

// len returns the number of entries, for tests.
func (c *verifiedCache[C]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// newCacheEntry records the claims of a token that just passed
// verification, copied so that the caller may keep its own.
func newCacheEntry[C any, P ClaimsPointer[C]](p P, leeway time.Duration) *cacheEntry[C] {
	c := p.base()
	from := c.IssuedAt
	if c.NotBefore > from {
		from = c.NotBefore
	}
	e := &cacheEntry[C]{
		claims: *p,
		from:   time.Unix(from, 0).Add(-leeway),
		until:  time.Unix(c.ExpiresAt, 0).Add(leeway),
	}
	// Every hit shares these slices: clipped, an append by one request's
	// handler copies rather than writing into the others' backing array.
	b := P(&e.claims).base()
	b.Audience = slices.Clip(b.Audience)
	b.Roles = slices.Clip(b.Roles)
	return e
}

// hit copies e's claims into dst if the parser's time checks, and the
// claims type's own Validate if it has one, would still pass at now.
func hit[C any, P ClaimsPointer[C]](e *cacheEntry[C], now time.Time, dst P) bool {
	if now.Before(e.from) || !now.Before(e.until) {
		return false
	}
	*dst = e.claims
	if v, ok := any(dst).(jwt.ClaimsValidator); ok && v.Validate() != nil {
		return false
	}
	return true
}
