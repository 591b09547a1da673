package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Get returns the value stored under each key, nil where there is none.
// Keys are read with one GET, or one pipeline of GETs (never MGET, so keys
// may lie in different cluster slots: a cluster client splits the pipeline
// by node).
func (t *Store) Get(ctx context.Context, keys []string) ([][]byte, error) {
	switch len(keys) {
	case 0:
		return nil, nil
	case 1:
		var b []byte
		err := t.call(ctx, "get", func(ctx context.Context) error {
			v, err := t.c.Get(ctx, t.cfg.prefix+keys[0]).Bytes()
			b = v
			return err
		})
		if err != nil && !isReply(err) {
			return nil, err
		}
		return [][]byte{b}, nil
	}
	var cmds []*redis.StringCmd
	err := t.call(ctx, "get", func(ctx context.Context) error {
		cs := make([]*redis.StringCmd, len(keys))
		_, err := t.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cs[i] = p.Get(ctx, t.cfg.prefix+k)
			}
			return nil
		})
		cmds = cs
		return err
	})
	if err != nil && !isReply(err) {
		return nil, err
	}
	out := make([][]byte, len(keys))
	for i, cmd := range cmds {
		out[i], _ = cmd.Bytes() // nil for a missing key or an error reply
	}
	return out, nil
}

// Set stores values[i] under keys[i] for ttls[i] (0: no expiry) and, when
// note is not nil, publishes it to the other replicas, all in one round
// trip.
func (t *Store) Set(ctx context.Context, keys []string, values [][]byte, ttls []time.Duration, note []byte) error {
	if len(keys) != len(values) || len(keys) != len(ttls) {
		return errors.New("redisstore: Set: keys, values and ttls differ in length")
	}
	return t.call(ctx, "set", func(ctx context.Context) error {
		_, err := t.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				p.Set(ctx, t.cfg.prefix+k, values[i], ttls[i])
			}
			t.publish(ctx, p, note)
			return nil
		})
		return err
	})
}

// Add stores values[i] under keys[i], without expiry, unless the key
// exists, and returns the value now stored under each key.
func (t *Store) Add(ctx context.Context, keys []string, values [][]byte) ([][]byte, error) {
	if len(keys) != len(values) {
		return nil, errors.New("redisstore: Add: keys and values differ in length")
	}
	var gets []*redis.StringCmd
	err := t.call(ctx, "add", func(ctx context.Context) error {
		gs := make([]*redis.StringCmd, len(keys))
		_, err := t.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				p.SetNX(ctx, t.cfg.prefix+k, values[i], 0)
				gs[i] = p.Get(ctx, t.cfg.prefix+k)
			}
			return nil
		})
		gets = gs
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	for i, g := range gets {
		out[i], _ = g.Bytes()
	}
	return out, nil
}

// Delete removes keys and, when note is not nil, publishes it, in one
// round trip.
func (t *Store) Delete(ctx context.Context, keys []string, note []byte) error {
	return t.call(ctx, "delete", func(ctx context.Context) error {
		_, err := t.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, t.cfg.prefix+k)
			}
			t.publish(ctx, p, note)
			return nil
		})
		return err
	})
}

func (t *Store) publish(ctx context.Context, p redis.Pipeliner, note []byte) {
	if note != nil {
		p.Publish(ctx, t.channel, note)
	}
}
