package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/testenv"
)

// TestOutage checks the outage policy against a Redis that refuses
// connections and one that never answers, with clients that honour context
// deadlines and clients that do not (and whose own timeouts are far
// longer): each call ends with ErrUnavailable, and after threshold failures
// calls are refused without reaching the network.
func TestOutage(t *testing.T) {
	for _, tt := range []struct {
		name          string
		frozen, aware bool
	}{
		{"refused", false, false},
		{"frozen", true, true},
		{"frozen-unaware", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := testenv.ClosedAddr(t)
			if tt.frozen {
				addr = testenv.SilentAddr(t)
			}
			c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Minute,
				ReadTimeout: time.Minute, WriteTimeout: time.Minute, ContextTimeoutEnabled: tt.aware})
			t.Cleanup(func() { _ = c.Close() })
			tier, err := New(c, WithKeyPrefix("outage:"), WithTimeout(20*time.Millisecond), WithBreaker(2, time.Hour), quiet)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			calls := []func() error{
				func() error { _, err := tier.Get(ctx, []string{"a"}); return err },
				func() error { _, err := tier.Get(ctx, []string{"a", "b"}); return err },
				func() error { return tier.Set(ctx, []string{"a"}, [][]byte{nil}, []time.Duration{0}, []byte("n")) },
				func() error { _, err := tier.Add(ctx, []string{"a"}, [][]byte{nil}); return err },
				func() error { return tier.Delete(ctx, []string{"a"}, nil) },
			}
			for i, call := range calls {
				err := call()
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("call %d with Redis down: %v; want ErrUnavailable", i, err)
				}
				if open := strings.Contains(err.Error(), "breaker open"); open != (i >= 2) {
					t.Fatalf("call %d: %v; want the breaker open from the third call on", i, err)
				}
			}
			// A caller that gave up is not Redis's failure.
			gone, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := tier.Get(gone, []string{"a"}); !errors.Is(err, context.Canceled) {
				t.Fatalf("Get with a cancelled context: %v; want context.Canceled", err)
			}
		})
	}
}

// TestBreakerCloses checks that a probe after the cooldown closes the
// breaker once Redis answers again.
func TestBreakerCloses(t *testing.T) {
	r := testenv.NewRedis(t)
	tier, err := New(r.Client, WithKeyPrefix(r.Prefix), WithBreaker(1, time.Millisecond), quiet)
	if err != nil {
		t.Fatal(err)
	}
	tier.brk.Failure(errors.New("simulated")) // open, as after an outage
	if !tier.brk.Open() {
		t.Fatal("breaker not open")
	}
	deadline := time.Now().Add(5 * time.Second)
	for tier.brk.Open() {
		if time.Now().After(deadline) {
			t.Fatal("breaker still open after 5s of calls to a healthy Redis")
		}
		_, _ = tier.Get(context.Background(), []string{"k"})
	}
}
