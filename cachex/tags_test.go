package cachex

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
)

func TestTagsLocal(t *testing.T) {
	testTags(t, newCache[string](t), newCache[string](t), false)
}

func TestTagsRedis(t *testing.T) {
	r := testenv.NewRedis(t)
	testTags(t, redisCache[string](t, r), redisCache[string](t, r), true)
}

func TestTagsCluster(t *testing.T) {
	cc := testenv.RedisCluster(t)
	prefix := "tags:" + testenv.RandomID(8) + ":"
	a := newCache[string](t, onRedis(t, cc, prefix))
	b := newCache[string](t, onRedis(t, cc, prefix))
	for _, c := range []*Cache[string]{a, b} {
		<-c.subReady
	}
	testTags(t, a, b, true)
}

// testTags stores tagged values through a and checks that invalidating a
// tag hides them from a and (when shared is set) from b.
func testTags(t *testing.T, a, b *Cache[string], shared bool) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		tag := "even"
		if i%2 == 1 {
			tag = "odd"
		}
		if err := a.Set(ctx, fmt.Sprint("item:", i), fmt.Sprint("v", i), time.Minute, Tags(tag, "all")); err != nil {
			t.Fatal(err)
		}
	}
	if shared {
		if v, err := b.Get(ctx, "item:3"); err != nil || v != "v3" {
			t.Fatalf("b.Get(item:3) = %q, %v", v, err)
		}
	}
	if err := a.InvalidateTag(ctx, "odd"); err != nil {
		t.Fatal(err)
	}
	if err := a.InvalidateTag(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		_, err := a.Get(ctx, fmt.Sprint("item:", i))
		if odd := i%2 == 1; odd != errors.Is(err, ErrNotFound) {
			t.Fatalf("a.Get(item:%d) after invalidating odd: %v", i, err)
		}
	}
	if shared {
		waitFor(t, "b to drop odd items", func() bool {
			_, err := b.Get(ctx, "item:3")
			return errors.Is(err, ErrNotFound)
		})
		if v, err := b.Get(ctx, "item:4"); err != nil || v != "v4" {
			t.Fatalf("b.Get(item:4) = %q, %v", v, err)
		}
	}
	// A value loaded while its tag is invalidated is stored with the old
	// version and is stale at once.
	v, err := a.GetOrLoad(ctx, "late", time.Minute, func(ctx context.Context) (string, error) {
		if err := a.InvalidateTag(ctx, "all"); err != nil {
			return "", err
		}
		return "loaded", nil
	}, Tags("all"))
	if err != nil || v != "loaded" {
		t.Fatalf("GetOrLoad = %q, %v", v, err)
	}
	if _, err := a.Get(ctx, "late"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("value loaded across an invalidation must not be served: %v", err)
	}
	many := make([]string, 300)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	if err := a.Set(ctx, "k", "v", time.Minute, Tags(many...)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Set with %d tags: %v; want ErrInvalid", len(many), err)
	}
}

func TestTagVersionsBounded(t *testing.T) {
	ctx := context.Background()
	c := newCache[int](t)
	_ = c.Set(ctx, "k", 1, time.Minute, Tags("keep"))
	for i := 0; i <= maxTagVersions; i++ {
		if _, err := c.tags.refs(ctx, []string{fmt.Sprint("t", i)}); err != nil {
			t.Fatal(err)
		}
	}
	c.tags.mu.Lock()
	n := len(c.tags.m)
	c.tags.mu.Unlock()
	if n > maxTagVersions {
		t.Fatalf("%d tag versions kept; bound is %d", n, maxTagVersions)
	}
	// The forgotten version only makes the value a miss.
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after its tag version was dropped = %v; want ErrNotFound", err)
	}
	r := testenv.NewRedis(t)
	clk := newClock()
	rc := redisCache[int](t, r, withClock(clk), WithLocal(1<<20), WithLocalTTL(time.Second))
	rc.tags.mu.Lock()
	for i := 0; i < maxTagVersions; i++ {
		rc.tags.m[fmt.Sprint("old", i)] = tagVer{ver: 1, expires: clk.Now()}
	}
	rc.tags.mu.Unlock()
	if err := rc.Set(ctx, "k", 1, time.Minute, Tags("fresh")); err != nil {
		t.Fatal(err)
	}
	rc.tags.mu.Lock()
	n = len(rc.tags.m)
	rc.tags.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d versions after pruning expired ones; want 1", n)
	}
}
