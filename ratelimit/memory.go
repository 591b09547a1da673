package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// Memory store defaults.
const (
	defaultMaxKeys = 1_000_000
	defaultShards  = 64
	// sweepEvery is how many decisions a shard makes between bounded sweeps.
	sweepEvery = 256
	// sweepBudget is how many entries one sweep may visit.
	sweepBudget = 32
	// evictSample is how many entries are compared when a full shard must evict.
	evictSample = 8
	// sweepGrace keeps an expired entry this long before the periodic sweep
	// deletes it, so that a client returning soon reuses its entry instead of
	// allocating a new one. Below the key cap memory may hold such entries a
	// minute longer; at the cap they are the first to go.
	sweepGrace = int64(time.Minute)
)

// MemoryStore is an in-process [Store]: a fixed number of shards, each a map
// behind its own mutex, so there is no limiter-wide lock.
//
// An expired key's entry is reset in place when the key is seen again, and
// every 256 decisions a shard visits at most 32 entries to delete those
// expired for over a minute, so no request ever pays for a full scan and no
// background goroutine is needed.
//
// Keys are held as 64-bit hashes under a seed chosen at random per store, so
// memory per key is small and fixed, whatever the key's length, and the
// garbage collector has nothing to scan. Two distinct keys share a limit only
// if their hashes collide: with a million keys the chance that any pair does
// is about 3 in 100 million, and since the seed is secret, a client cannot
// choose a key that collides with another's.
//
// # Key cap
//
// The store never holds more than its key cap (default 1,000,000).
// When a new key arrives at a full shard, the shard first deletes expired
// entries it can find within a bounded sample; if none, it evicts, among 8
// sampled entries, the one that would expire soonest. An evicted key starts
// afresh, so a flood of distinct keys can make the store forget some limits
// early but can never grow memory without bound. Size the cap above the
// number of clients active in one period.
//
// A MemoryStore is safe for concurrent use. Its zero value is not usable;
// call [NewMemoryStore].
type MemoryStore struct {
	seed   maphash.Seed
	shards []memShard
	mask   uint64
	perCap int
	now    func() time.Time
}

type memShard struct {
	mu  sync.Mutex
	m   map[uint64]state // by seeded hash of the key: no pointers for the GC to scan
	ops uint32
	_   [40]byte // keep hot shards on separate cache lines
}

// MemoryOption configures a [MemoryStore].
type MemoryOption func(*memConfig)

type memConfig struct {
	maxKeys int
	shards  int
}

// WithMaxKeys sets the key cap (default 1,000,000); it must be at
// least the shard count (64).
func WithMaxKeys(n int) MemoryOption { return func(c *memConfig) { c.maxKeys = n } }

// WithShards sets the number of shards, rounded up to a power of two
// (default 64).
func WithShards(n int) MemoryOption { return func(c *memConfig) { c.shards = n } }

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore(opts ...MemoryOption) (*MemoryStore, error) {
	c := memConfig{maxKeys: defaultMaxKeys, shards: defaultShards}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: option %d is nil", ErrInvalidConfig, i)
		}
		o(&c)
	}
	if c.shards < 1 || c.shards > 1<<16 {
		return nil, fmt.Errorf("%w: shards %d must be in 1..65536", ErrInvalidConfig, c.shards)
	}
	n := 1
	for n < c.shards {
		n <<= 1
	}
	if c.maxKeys < n {
		return nil, fmt.Errorf("%w: max keys %d is below the shard count %d", ErrInvalidConfig, c.maxKeys, n)
	}
	s := &MemoryStore{
		seed:   maphash.MakeSeed(),
		shards: make([]memShard, n),
		mask:   uint64(n - 1),
		perCap: c.maxKeys / n,
		now:    time.Now,
	}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]state)
	}
	return s, nil
}

var _ Store = (*MemoryStore)(nil)

// Take implements [Store]. It never fails for a valid rate and cost.
func (s *MemoryStore) Take(_ context.Context, key string, r Rate, alg Algorithm, cost int64) (Decision, error) {
	if err := checkTake(r, alg, cost); err != nil {
		return Decision{}, err
	}
	return s.take(maphash.String(s.seed, key), r, alg, cost), nil
}

// takeBytes is Take for a key held in a buffer, for callers that have
// validated r, alg and cost already.
func (s *MemoryStore) takeBytes(key []byte, r Rate, alg Algorithm, cost int64) Decision {
	return s.take(maphash.Bytes(s.seed, key), r, alg, cost)
}

// take decides for the key whose hash is h, under its shard's lock.
func (s *MemoryStore) take(h uint64, r Rate, alg Algorithm, cost int64) Decision {
	now := s.now().UnixNano()
	sh := &s.shards[h&s.mask]
	sh.mu.Lock()
	st, ok := sh.m[h]
	if !ok && len(sh.m) >= s.perCap {
		sh.makeRoom(now)
	}
	d := alg.apply(&st, now, r, cost)
	if st.exp > now {
		sh.m[h] = st
	} else if ok {
		// Nothing worth keeping (e.g. a zero-cost peek at an idle key).
		delete(sh.m, h)
	}
	sh.ops++
	if sh.ops%sweepEvery == 0 {
		sh.sweep(now-sweepGrace, sweepBudget)
	}
	sh.mu.Unlock()
	return d
}

// Len returns the number of keys held, expired or not.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// sweep deletes entries expired at before among at most budget visited ones
// and reports how many it deleted. Map iteration starts at a random point, so
// successive sweeps cover the whole map.
func (sh *memShard) sweep(before int64, budget int) int {
	n := 0
	for k, st := range sh.m {
		if budget == 0 {
			break
		}
		budget--
		if st.exp <= before {
			delete(sh.m, k)
			n++
		}
	}
	return n
}

// makeRoom frees one slot in a full shard.
func (sh *memShard) makeRoom(now int64) {
	if sh.sweep(now, sweepBudget) > 0 {
		return
	}
	var victim uint64
	var soonest int64
	i := 0
	for k, st := range sh.m {
		if i == 0 || st.exp < soonest {
			victim, soonest = k, st.exp
		}
		i++
		if i == evictSample {
			break
		}
	}
	delete(sh.m, victim)
}
