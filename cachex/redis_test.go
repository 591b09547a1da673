package cachex

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/vmihailenco/msgpack/v5"
)

func redisCache[V any](t *testing.T, r *testenv.Redis, opts ...Option) *Cache[V] {
	t.Helper()
	c := newCache[V](t, append([]Option{onRedis(t, r.Client, r.Prefix)}, opts...)...)
	subscribed(t, c)
	return c
}

func TestRedisSingleFlight(t *testing.T) {
	r := testenv.NewRedis(t)
	testSingleFlight(t, redisCache[user](t, r))
	testSingleFlight(t, redisCache[user](t, testenv.NewRedis(t), WithoutLocal()))
}

func TestRedisRoundTrip(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	a := redisCache[user](t, r, WithoutLocal(), WithCompression(CompressionS2, 16))
	u := user{ID: 9, Name: "bob", Email: "bob@example.com", Tags: []string{"a", "b", "c"}}
	if err := a.Set(ctx, "u", u, time.Minute); err != nil {
		t.Fatal(err)
	}
	ttl := r.Client.PTTL(ctx, r.Key("u")).Val()
	if ttl <= 0 || ttl > time.Minute {
		t.Fatalf("redis TTL = %v; want (0, 1m]", ttl)
	}
	if got, err := a.Get(ctx, "u"); err != nil || got.Email != u.Email {
		t.Fatalf("Get without local tier = %+v, %v", got, err)
	}
	if _, err := a.Get(ctx, "absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of absent key without local tier: %v; want ErrNotFound", err)
	}
	b := redisCache[user](t, r)
	got, err := b.Get(ctx, "u")
	if err != nil || got.Email != u.Email || len(got.Tags) != 3 {
		t.Fatalf("Get from second instance = %+v, %v", got, err)
	}
	if s := b.Stats(); s.Shared.Hits != 1 || s.Local.Misses != 1 {
		t.Fatalf("stats = %+v; want one local miss, one redis hit", s)
	}
	// Now served in process.
	if _, err := b.Get(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Local.Hits != 1 {
		t.Fatalf("stats = %+v; want a local hit", s)
	}
}

func TestRedisForeignValueIsMiss(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	c := redisCache[user](t, r)
	foreign, _ := msgpack.Marshal(user{ID: 1, Name: "other library"})
	for _, v := range [][]byte{foreign, []byte(`{"ID":1}`), []byte("\xc0cx\x01garbage")} {
		if err := r.Client.Set(ctx, r.Key("u"), v, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, "u"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of foreign value %q: %v; want ErrNotFound", v, err)
		}
		if n := r.Client.Exists(ctx, r.Key("u")).Val(); n != 0 {
			t.Fatalf("foreign value %q not deleted", v)
		}
	}
	_ = r.Client.Set(ctx, r.Key("u"), foreign, time.Minute).Err()
	got, err := c.GetOrLoad(ctx, "u", time.Minute, func(context.Context) (user, error) { return user{Name: "ours"}, nil })
	if err != nil || got.Name != "ours" {
		t.Fatalf("GetOrLoad over foreign value = %+v, %v", got, err)
	}
}

func TestInvalidationAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	a := redisCache[string](t, r)
	b := redisCache[string](t, r)
	_ = a.Set(ctx, "k", "v1", time.Minute)
	if v, _ := b.Get(ctx, "k"); v != "v1" {
		t.Fatalf("b.Get = %q; want v1", v)
	}
	// b now holds k in process; a's write must reach it.
	_ = a.Set(ctx, "k", "v2", time.Minute)
	waitFor(t, "b to see v2", func() bool { v, _ := b.Get(ctx, "k"); return v == "v2" })
	_ = a.Delete(ctx, "k")
	waitFor(t, "b to see the delete", func() bool { _, err := b.Get(ctx, "k"); return errors.Is(err, ErrNotFound) })
	// A replica's own messages are ignored: a keeps its copy.
	_ = a.Set(ctx, "own", "x", time.Minute)
	_ = r.Client.Del(ctx, r.Key("own")).Err()
	if v, _ := a.Get(ctx, "own"); v != "x" {
		t.Fatalf("a lost its own copy: %q", v)
	}
}

func TestResubscribeFlushesLocal(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	c := redisCache[string](t, r)
	_ = c.Set(ctx, "k", "v", time.Minute)
	// Remove the Redis copy behind the cache's back: only the in-process
	// copy remains, until the flush.
	_ = r.Client.Del(ctx, r.Key("k")).Err()
	if err := r.Client.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatalf("client kill: %v", err)
	}
	waitFor(t, "resubscribe", func() bool { return c.Stats().Resubscribes > 0 })
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after resubscribe = %v; want the local tier flushed", err)
	}
}

func TestMessageCodec(t *testing.T) {
	msg := encodeMessage("0123456789abcdef", msgKeys, []string{"a", "", "long key"})
	origin, kind, names, ok := decodeMessage(msg)
	if !ok || origin != "0123456789abcdef" || kind != msgKeys || len(names) != 3 || names[2] != "long key" {
		t.Fatalf("decodeMessage = %q %c %q %v", origin, kind, names, ok)
	}
	for _, bad := range []string{"short", "0123456789abcdefk\x05ab"} {
		if _, _, _, ok := decodeMessage([]byte(bad)); ok {
			t.Errorf("decodeMessage(%q) accepted", bad)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FuzzDecodeMessage checks that no invalidation message, whatever another
// client publishes on the channel, makes the decoder panic, and that what
// it accepts survives a re-encoding.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage("0123456789abcdef", msgKeys, []string{"a", "", "long key"}))
	f.Add(encodeMessage("0123456789abcdef", msgTags, nil))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		origin, kind, names, ok := decodeMessage(b)
		if !ok {
			return
		}
		o2, k2, n2, ok2 := decodeMessage(encodeMessage(origin, kind, names))
		if !ok2 || o2 != origin || k2 != kind || !slices.Equal(n2, names) {
			t.Fatalf("decodeMessage(%q) = %q %c %q; re-encoded it decodes to %q %c %q %v", b, origin, kind, names, o2, k2, n2, ok2)
		}
	})
}
