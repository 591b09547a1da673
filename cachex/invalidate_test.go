package cachex

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
)

// staleBound is how long a subscribed replica may take to see another's
// change in these tests: far above the time a message takes, so a busy
// machine running -race does not fail them.
const staleBound = 2 * time.Second

// TestInvalidationReachesReplica checks the staleness bound: a value that
// replica b serves from its in-process tier turns into the new value (or
// a miss) soon after replica a changes it, without waiting for the local
// TTL.
func TestInvalidationReachesReplica(t *testing.T) {
	tests := []struct {
		name   string
		change func(ctx context.Context, a *Cache[string]) error
		want   string // b's answer once the change arrived; "" is a miss
	}{
		{"set", func(ctx context.Context, a *Cache[string]) error { return a.Set(ctx, "k", "v2", time.Minute) }, "v2"},
		{"set many", func(ctx context.Context, a *Cache[string]) error {
			return a.SetMany(ctx, map[string]string{"k": "v2", "other": "x"}, time.Minute)
		}, "v2"},
		{"delete", func(ctx context.Context, a *Cache[string]) error { return a.Delete(ctx, "k") }, ""},
		{"tag", func(ctx context.Context, a *Cache[string]) error { return a.InvalidateTag(ctx, "t") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := testenv.NewRedis(t)
			a, b := redisCache[string](t, r), redisCache[string](t, r)
			if err := a.Set(ctx, "k", "v1", time.Minute, Tags("t")); err != nil {
				t.Fatal(err)
			}
			// a's own message may spoil b's first fill: read until b
			// serves k in process.
			waitFor(t, "b to serve k in process", func() bool {
				v, err := b.Get(ctx, "k")
				if err != nil || v != "v1" {
					t.Fatalf("b.Get(k) = %q, %v; want v1", v, err)
				}
				return b.Stats().Local.Hits > 0
			})
			if err := tt.change(ctx, a); err != nil {
				t.Fatal(err)
			}
			answer := func(c *Cache[string]) string {
				v, err := c.Get(ctx, "k")
				if errors.Is(err, ErrNotFound) {
					return ""
				}
				if err != nil {
					t.Fatalf("Get(k): %v", err)
				}
				return v
			}
			if got := answer(a); got != tt.want {
				t.Fatalf("a.Get(k) after its own change = %q; want %q", got, tt.want)
			}
			deadline := time.Now().Add(staleBound)
			for got := answer(b); got != tt.want; got = answer(b) {
				if time.Now().After(deadline) {
					t.Fatalf("b.Get(k) = %q %v after a's change; want %q", got, staleBound, tt.want)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestReadThroughWhileUnsubscribed runs replica b through the life of its
// subscription (held down by a probe over the real tier) while replica a
// changes values behind its back. While b is not subscribed, every read
// asks the shared tier, tag versions included, so a's changes are seen at
// once though their messages never reach b; while it is, hot reads make no
// call to the shared tier; and each time the subscription is established,
// what b kept in process before is gone.
func TestReadThroughWhileUnsubscribed(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	a := redisCache[string](t, r)
	p := newProbe(t, r, true)
	b := newCache[string](t, WithShared(p))
	get := func(key string) string {
		t.Helper()
		v, err := b.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatalf("b.Get(%s): %v", key, err)
		}
		return v
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name  string
		enter func()
		live  bool
	}{
		{"before the first subscription", func() {}, false},
		{"subscribed", func() { p.restore(); subscribed(t, b) }, true},
		{"subscription lost", func() {
			p.cut()
			waitFor(t, "b to notice", func() bool { return !b.live.Load() })
		}, false},
		{"subscription back", func() {
			p.restore()
			waitFor(t, "b to resubscribe", func() bool { return b.live.Load() })
		}, true},
	}
	for i, st := range steps {
		st.enter()
		if b.live.Load() != st.live {
			t.Fatalf("%s: live = %v", st.name, !st.live)
		}
		if i > 0 && st.live {
			// a changed it while b was not subscribed: b's copy went
			// with the flush.
			if got := get(fmt.Sprint("missed", i-1)); got != "a's" {
				t.Fatalf("%s: b.Get(missed) = %q; want a's change", st.name, got)
			}
		}
		key, tagged, tag := fmt.Sprint("k", i), fmt.Sprint("tagged", i), fmt.Sprint("tag", i)
		must(b.Set(ctx, key, "b's", time.Minute))
		must(b.Set(ctx, tagged, "x", time.Minute, Tags(tag)))
		if got := get(key); got != "b's" {
			t.Fatalf("%s: b.Get(k) = %q; want b's", st.name, got)
		}
		if got := get(tagged); got != "x" {
			t.Fatalf("%s: b.Get(tagged) = %q; want x", st.name, got)
		}
		before, gets, adds := p.calls(), p.gets.Load(), p.adds.Load()
		for range 3 {
			get(key)
			get(tagged)
		}
		if st.live {
			if n := p.calls() - before; n != 0 {
				t.Fatalf("%s: 6 hot reads made %d calls to the shared tier; want 0", st.name, n)
			}
			continue
		}
		if n, m := p.gets.Load()-gets, p.adds.Load()-adds; n != 6 || m != 3 {
			t.Fatalf("%s: 6 reads made %d Gets and %d tag version reads; want 6 and 3", st.name, n, m)
		}
		// a's changes reach b at once, though b gets no message.
		must(a.Set(ctx, key, "a's", time.Minute))
		must(a.InvalidateTag(ctx, tag))
		if got := get(key); got != "a's" {
			t.Fatalf("%s: b.Get(k) after a's Set = %q; want a's", st.name, got)
		}
		if got := get(tagged); got != "" {
			t.Fatalf("%s: b.Get(tagged) after a's InvalidateTag = %q; want a miss", st.name, got)
		}
		// An in-process copy a changes that b does not read now.
		missed := fmt.Sprint("missed", i)
		must(b.Set(ctx, missed, "b's", time.Minute))
		must(a.Set(ctx, missed, "a's", time.Minute))
	}
	if s := b.Stats(); s.Resubscribes != 1 {
		t.Fatalf("stats = %+v; want one resubscription", s)
	}
}

// TestFillFence lands an invalidation while a read of the shared tier is in
// flight (from the probe's hook, after Redis answered and before the cache
// sees the answer): what the read found is returned, and not kept in
// process, where it could outlive the invalidation.
func TestFillFence(t *testing.T) {
	const other = "ffffffffffffffff" // another replica's origin
	keyMessage := func(_ *testing.T, _ context.Context, c *Cache[string]) {
		c.apply(encodeMessage(other, msgKeys, []string{"k"}))
	}
	tests := []struct {
		name string
		op   string // the call during which the invalidation lands
		land func(t *testing.T, ctx context.Context, c *Cache[string])
		many bool // read with GetMany, not Get
		tag  bool // check the version of tag t kept, not the copy of k
	}{
		{"nothing lands", "", nil, false, false},
		{"nothing lands, many", "", nil, true, false},
		{"key message during Get", "get", keyMessage, false, false},
		{"key message during GetMany", "get", keyMessage, true, false},
		{"flush during Get", "get", func(_ *testing.T, _ context.Context, c *Cache[string]) { c.flushLocal() }, false, false},
		{"nothing lands on tags", "", nil, false, true},
		{"tag message during version read", "add", func(_ *testing.T, _ context.Context, c *Cache[string]) {
			c.apply(encodeMessage(other, msgTags, []string{"t"}))
		}, false, true},
		{"own invalidation during version read", "add", func(t *testing.T, ctx context.Context, c *Cache[string]) {
			if err := c.InvalidateTag(ctx, "t"); err != nil {
				t.Errorf("InvalidateTag: %v", err)
			}
		}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := testenv.NewRedis(t)
			p := newProbe(t, r, false)
			c := newCache[string](t, WithShared(p))
			subscribed(t, c)
			if err := c.Set(ctx, "k", "v", time.Minute, Tags("t")); err != nil {
				t.Fatal(err)
			}
			read, _ := keptVersion(c)
			c.local.Invalidate("k")
			c.tags.forget([]string{"t"})
			var once sync.Once
			p.setAfter(func(op string) {
				if op == tt.op {
					once.Do(func() { tt.land(t, ctx, c) })
				}
			})
			var v string
			var err error
			if tt.many {
				var got map[string]string
				got, err = c.GetMany(ctx, []string{"k"})
				v = got["k"]
			} else {
				v, err = c.Get(ctx, "k")
			}
			p.setAfter(nil)
			if err != nil || v != "v" {
				t.Fatalf("read of k = %q, %v; want v, read before the invalidation landed", v, err)
			}
			var kept bool
			if tt.tag {
				ver, ok := keptVersion(c)
				kept = ok && ver == read
			} else {
				_, kept = c.local.GetIfPresent("k")
			}
			if want := tt.land == nil; kept != want {
				t.Fatalf("what the read found is kept in process: %v; want %v", kept, want)
			}
		})
	}
}

// keptVersion is the version of tag t that c keeps in process.
func keptVersion(c *Cache[string]) (uint64, bool) {
	c.tags.mu.Lock()
	defer c.tags.mu.Unlock()
	v, ok := c.tags.m["t"]
	return v.ver, ok
}

// TestTagVersionsWithoutLocal: a cache without an in-process tier does not
// subscribe, so it reads tag versions on every use and sees another
// replica's InvalidateTag at once; WithoutInvalidation keeps them for the
// local TTL.
func TestTagVersionsWithoutLocal(t *testing.T) {
	tests := []struct {
		name      string
		opts      []Option
		readsEach bool // a read of a tagged value reads its versions
		adds      int64
	}{
		{"without local", []Option{WithoutLocal()}, true, 3},
		{"without local or invalidation", []Option{WithoutLocal(), WithoutInvalidation()}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := testenv.NewRedis(t)
			p := newProbe(t, r, false)
			c := newCache[string](t, append([]Option{WithShared(p)}, tt.opts...)...)
			other := redisCache[string](t, r)
			if err := c.Set(ctx, "k", "v", time.Minute, Tags("t")); err != nil {
				t.Fatal(err)
			}
			adds := p.adds.Load()
			for range 3 {
				if v, err := c.Get(ctx, "k"); err != nil || v != "v" {
					t.Fatalf("Get(k) = %q, %v; want v", v, err)
				}
			}
			if got := p.adds.Load() - adds; got != tt.adds {
				t.Fatalf("3 reads read tag versions %d times; want %d", got, tt.adds)
			}
			if err := other.InvalidateTag(ctx, "t"); err != nil {
				t.Fatal(err)
			}
			_, err := c.Get(ctx, "k")
			if errors.Is(err, ErrNotFound) != tt.readsEach {
				t.Fatalf("Get(k) after another replica's InvalidateTag: %v; want a miss: %v", err, tt.readsEach)
			}
		})
	}
}
