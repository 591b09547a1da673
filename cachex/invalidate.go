package cachex

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
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
			c.local.Invalidate(k)
		}
	case msgTags:
		c.tags.forget(names)
	}
}

// flushLocal drops every in-process copy and cached tag version: after a
// lost subscription the replica may have missed invalidations.
func (c *Cache[V]) flushLocal() {
	c.local.InvalidateAll()
	c.tags.forgetAll()
}

// subscribe applies other replicas' invalidations until ctx ends. Whenever
// the subscription is lost, and whenever it is re-established after the
// first time, the in-process tier is flushed, since messages sent in
// between are lost.
func (c *Cache[V]) subscribe(ctx context.Context) {
	defer close(c.subDone)
	c.shared.Subscribe(ctx, c.apply, func(up bool) {
		switch {
		case !up:
			c.stats.shared.errors.Add(1)
			c.flushLocal()
		case c.subUp:
			c.flushLocal()
			c.stats.resubscribes.Add(1)
		default:
			c.subUp = true
			close(c.subReady)
		}
	})
}
