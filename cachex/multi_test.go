package cachex

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
)

func TestManyLocal(t *testing.T) {
	testMany(t, newCache[user](t), nil)
}

func TestManyRedis(t *testing.T) {
	r := testenv.NewRedis(t)
	testMany(t, redisCache[user](t, r, WithoutLocal()), redisCache[user](t, r))
}

func TestManyCluster(t *testing.T) {
	cc := testenv.RedisCluster(t)
	prefix := "many:" + testenv.RandomID(8) + ":"
	a := newCache[user](t, onRedis(t, cc, prefix), WithoutLocal())
	b := newCache[user](t, onRedis(t, cc, prefix))
	<-b.subReady
	testMany(t, a, b)
}

func testMany(t *testing.T, a, b *Cache[user]) {
	t.Helper()
	ctx := context.Background()
	items := map[string]user{}
	var keys []string
	for i := 0; i < 50; i++ {
		k := fmt.Sprint("user:", i) // spread over many slots
		items[k] = user{ID: int64(i), Name: k}
		keys = append(keys, k)
	}
	if err := a.SetMany(ctx, items, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Cache[user]{a, b} {
		if c == nil {
			continue
		}
		got, err := c.GetMany(ctx, append(keys, "absent"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(items) {
			t.Fatalf("GetMany returned %d values; want %d", len(got), len(items))
		}
		for k, u := range items {
			if got[k].ID != u.ID {
				t.Fatalf("GetMany[%q] = %+v; want %+v", k, got[k], u)
			}
		}
		// A second read is served in process where there is a tier.
		if _, err := c.GetMany(ctx, keys); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Delete(ctx, keys[:10]...); err != nil {
		t.Fatal(err)
	}
	if b != nil {
		waitFor(t, "deletes to reach b", func() bool {
			got, _ := b.GetMany(ctx, keys)
			return len(got) == 40
		})
	}
	for _, bad := range []error{
		a.SetMany(ctx, items, 0),
		a.SetMany(ctx, map[string]user{"": {}}, time.Minute),
	} {
		if !errors.Is(bad, ErrInvalid) {
			t.Fatalf("bad SetMany: %v; want ErrInvalid", bad)
		}
	}
	if err := a.SetMany(ctx, nil, time.Minute); err != nil {
		t.Fatal(err)
	}
}
