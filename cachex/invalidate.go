package cachex

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"sync/atomic"
)

// Invalidation messages are notes published through the shared tier. A
// message is the
// sender's origin ID (so a replica ignores its own messages), a kind byte,
// then length-prefixed names:
//
//	origin(16) kind(1) { uvarint(len) name }*
const (
	originLen = 16
	msgKeys   = 'k'
	msgTags   = 't'
)

func newOrigin() string {
	var b [originLen / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func encodeMessage(origin string, kind byte, names []string) []byte {
	n := originLen + 1
	for _, s := range names {
		n += binary.MaxVarintLen64 + len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, origin...)
	b = append(b, kind)
	for _, s := range names {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// decodeMessage parses a message; ok is false for anything malformed.
func decodeMessage(msg []byte) (origin string, kind byte, names []string, ok bool) {
	if len(msg) < originLen+1 {
		return "", 0, nil, false
	}
	origin, kind = string(msg[:originLen]), msg[originLen]
	rest := msg[originLen+1:]
	for len(rest) > 0 {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) {
			return "", 0, nil, false
		}
		names = append(names, string(rest[n:n+int(l)]))
		rest = rest[n+int(l):]
	}
	return origin, kind, names, true
}

// note is the message announcing a change of names to other replicas, or
// nil when replicas keep no in-process copies to drop.
func (c *Cache[V]) note(kind byte, names []string) []byte {
	if !c.cfg.invalidate {
		return nil
	}
	return encodeMessage(c.origin, kind, names)
}

// apply acts on a message from another replica.
func (c *Cache[V]) apply(payload []byte) {
	origin, kind, names, ok := decodeMessage(payload)
	if !ok || origin == c.origin {
		return
	}
	switch kind {
	case msgKeys:
		for _, k := range names {
			c.fence.bump(k)
			c.local.Invalidate(k)
		}
	case msgTags:
		c.tags.forget(names)
	}
}

// flushLocal drops every in-process copy and cached tag version: after a
// lost subscription the replica may have missed invalidations.
func (c *Cache[V]) flushLocal() {
	c.fence.bumpAll()
	c.local.InvalidateAll()
	c.tags.forgetAll()
}

// direct reports whether reads must ask the shared tier first: the cache
// relies on invalidation messages and is not subscribed, so messages may be
// going missing and the in-process tier cannot be trusted.
func (c *Cache[V]) direct() bool { return c.subDone != nil && !c.live.Load() }

// subscribe applies other replicas' invalidations until ctx ends. The cache
// is live (it trusts its in-process tier and cached tag versions) only
// while subscribed. Whenever the subscription is lost, and whenever it is
// established, the first time included, the in-process tier is flushed
// before the cache turns live, since messages sent while it was not
// subscribed are lost.
func (c *Cache[V]) subscribe(ctx context.Context) {
	defer close(c.subDone)
	c.shared.Subscribe(ctx, c.apply, func(up bool) {
		if !up {
			c.live.Store(false)
			c.stats.shared.errors.Add(1)
			c.flushLocal()
			return
		}
		c.flushLocal()
		if c.subUp {
			c.stats.resubscribes.Add(1)
		}
		c.live.Store(true)
		if !c.subUp {
			c.subUp = true
			close(c.subReady)
		}
	})
}

// fenceShards is the number of generations a fence keeps. An invalidation
// spoils the fills in flight of 1/fenceShards of all keys, so a busy stream
// of messages costs few fills.
const fenceShards = 64

// fence keeps a copy read from the shared tier from landing in the
// in-process tier after an invalidation of its key that arrived while the
// read was in flight (the copy may predate the change, and no later message
// would drop it). Each key maps to a generation; applying a message bumps
// the generations of its keys, a flush bumps them all, and a fill that sees
// its key's generation move drops the copy it made.
type fence struct {
	seed maphash.Seed
	gens [fenceShards]atomic.Uint64
}

func (f *fence) init() { f.seed = maphash.MakeSeed() }

func (f *fence) gen(key string) *atomic.Uint64 {
	return &f.gens[maphash.String(f.seed, key)%fenceShards]
}

func (f *fence) bump(key string) { f.gen(key).Add(1) }

func (f *fence) bumpAll() {
	for i := range f.gens {
		f.gens[i].Add(1)
	}
}

// fill copies e, read from the shared tier while key's generation was gen,
// into the in-process tier, unless an invalidation of key has landed since.
// The generation is checked again after the copy: an invalidation bumps it
// before it drops the key, so either this check sees the bump or the
// invalidation drops the copy.
func (c *Cache[V]) fill(key string, e *entry[V], g *atomic.Uint64, gen uint64) {
	if g.Load() != gen {
		return
	}
	c.local.Set(key, e)
	if g.Load() != gen {
		c.local.Invalidate(key)
	}
}
