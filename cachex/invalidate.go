package cachex

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"
)

// Invalidation messages go to one channel per prefix. A message is the
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

func (c *Cache[V]) channel() string { return c.cfg.prefix + "\x00cachex-invalidate" }

func encodeMessage(origin string, kind byte, names []string) string {
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
	return string(b)
}

// decodeMessage parses a message; ok is false for anything malformed.
func decodeMessage(msg string) (origin string, kind byte, names []string, ok bool) {
	if len(msg) < originLen+1 {
		return "", 0, nil, false
	}
	origin, kind = msg[:originLen], msg[originLen]
	rest := []byte(msg[originLen+1:])
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

// publish queues an invalidation message on p when replicas keep
// in-process copies.
func (c *Cache[V]) publish(ctx context.Context, p redis.Pipeliner, kind byte, names []string) {
	if !c.cfg.invalidate {
		return
	}
	p.Publish(ctx, c.channel(), encodeMessage(c.origin, kind, names))
}

// apply acts on a message from another replica.
func (c *Cache[V]) apply(payload string) {
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
// the subscription is (re)established after the first time, or the
// connection fails, the in-process tier is flushed, since messages sent in
// between are lost.
func (c *Cache[V]) subscribe(ctx context.Context) {
	defer close(c.subDone)
	ps := c.rdb.Subscribe(ctx, c.channel())
	defer ps.Close()
	c.bgMu.Lock()
	closed := c.closed
	c.ps = ps
	c.bgMu.Unlock()
	if closed {
		return
	}
	subscribed := false
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.stats.redis.errors.Add(1)
			c.flushLocal()
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			backoff = 50 * time.Millisecond
			if subscribed {
				c.flushLocal()
				c.stats.resubscribes.Add(1)
			} else {
				subscribed = true
				close(c.subReady)
			}
		case *redis.Message:
			c.apply(m.Payload)
		}
	}
}
