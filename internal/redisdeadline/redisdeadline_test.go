package redisdeadline

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
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

type key struct{}

func TestBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 50 * time.Millisecond
		b := NewBound(d)
		if b.Timeout() != d {
			t.Fatalf("Timeout() = %v; want %v", b.Timeout(), d)
		}
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
		start := time.Now()
		ctx := b.Context(parent)
		dl, ok := ctx.Deadline()
		if !ok || dl.Sub(start) < d || dl.Sub(start) > d+b.tick {
			t.Fatalf("Deadline() = %v, %v; want %v to %v from now", dl.Sub(start), ok, d, d+b.tick)
		}
		if ctx.Value(key{}) != "v" {
			t.Errorf("Value(key) = %v; want the parent's value", ctx.Value(key{}))
		}
		// Calls within the same tick share the window.
		time.Sleep(b.tick / 2)
		if ctx2 := b.Context(context.Background()); ctx2.Done() != ctx.Done() {
			t.Error("a second call within the tick got its own window")
		}
		// The parent's cancellation does not end a call in flight.
		cancel()
		synctest.Wait()
		if err := ctx.Err(); err != nil {
			t.Fatalf("Err() after the parent's cancel = %v; want nil", err)
		}
		// A later call gets a later window, each call at least d.
		time.Sleep(b.tick)
		late := time.Now()
		ctx3 := b.Context(context.Background())
		if dl3, _ := ctx3.Deadline(); ctx3.Done() == ctx.Done() || dl3.Sub(late) < d {
			t.Fatalf("a call one tick later ends %v from its start, shared=%v; want a new window of at least %v",
				dl3.Sub(late), ctx3.Done() == ctx.Done(), d)
		}
		time.Sleep(time.Until(dl))
		synctest.Wait()
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Done() still open at the deadline")
		}
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err() = %v; want DeadlineExceeded", err)
		}
		if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Cause() = %v; want DeadlineExceeded", err)
		}
		if ctx3.Err() != nil {
			t.Error("the later window ended with the earlier one")
		}
	})
}

func TestBoundSoonerParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBound(time.Second)
		parent, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if ctx := b.Context(parent); ctx != parent {
			t.Fatalf("Context(parent ending sooner) = %v; want parent itself", ctx)
		}
		later, cancel2 := context.WithTimeout(context.Background(), time.Hour)
		defer cancel2()
		if ctx := b.Context(later); ctx == later {
			t.Fatal("Context(parent ending later) = parent; want the bound")
		}
	})
}

func TestNewBoundTick(t *testing.T) {
	for _, tc := range []struct{ d, want time.Duration }{
		{time.Millisecond, 100 * time.Microsecond},
		{50 * time.Millisecond, 50 * time.Millisecond / 16},
		{time.Second, 5 * time.Millisecond},
	} {
		if got := NewBound(tc.d).tick; got != tc.want {
			t.Errorf("NewBound(%v).tick = %v; want %v", tc.d, got, tc.want)
		}
	}
}
