package redisdeadline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestHonoursContext(t *testing.T) {
	tests := []struct {
		c    redis.UniversalClient
		want bool
	}{
		{redis.NewClient(&redis.Options{}), false},
		{redis.NewClient(&redis.Options{ContextTimeoutEnabled: true}), true},
		{redis.NewClusterClient(&redis.ClusterOptions{ContextTimeoutEnabled: true}), true},
		{redis.NewRing(&redis.RingOptions{ContextTimeoutEnabled: true}), true},
		{redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:1"}}), false},
	}
	for i, tc := range tests {
		if got := HonoursContext(tc.c); got != tc.want {
			t.Errorf("case %d: HonoursContext(%T) = %v; want %v", i, tc.c, got, tc.want)
		}
		_ = tc.c.Close()
	}
}

func TestDo(t *testing.T) {
	boom := errors.New("boom")
	for _, aware := range []bool{true, false} {
		if err := Do(context.Background(), aware, func(context.Context) error { return boom }); err != boom {
			t.Errorf("Do(aware=%v) = %v; want boom", aware, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	if err := Do(ctx, false, func(context.Context) error { <-release; return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do past the deadline = %v; want DeadlineExceeded", err)
	}
}
