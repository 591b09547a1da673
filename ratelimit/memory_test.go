package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewMemoryStoreErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []MemoryOption
	}{
		{"zero shards", []MemoryOption{WithShards(0)}},
		{"too many shards", []MemoryOption{WithShards(1 << 17)}},
		{"cap below shards", []MemoryOption{WithMaxKeys(10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewMemoryStore(tt.opts...); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewMemoryStore = %v; want ErrInvalidConfig", err)
			}
		})
	}
	s, err := NewMemoryStore(WithShards(5), WithMaxKeys(8))
	if err != nil || len(s.shards) != 8 {
		t.Fatalf("NewMemoryStore(5 shards) = %d shards, %v; want 8", len(s.shards), err)
	}
}

func TestMemoryTakeErrors(t *testing.T) {
	s := newMem(t, nil)
	ctx := context.Background()
	if _, err := s.Take(ctx, "k", PerSecond(1), GCRA, -1); !errors.Is(err, ErrInvalidCost) {
		t.Errorf("Take(cost -1) = %v; want ErrInvalidCost", err)
	}
	if _, err := s.Take(ctx, "k", Rate{}, GCRA, 1); !errors.Is(err, ErrInvalidRate) {
		t.Errorf("Take(zero rate) = %v; want ErrInvalidRate", err)
	}
	if _, err := s.Take(ctx, "k", PerSecond(1), Algorithm(7), 1); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Take(bad algorithm) = %v; want ErrInvalidConfig", err)
	}
}

// TestMemoryConcurrentExactLimit: 50 goroutines at once, exactly the limit
// passes in one window, for every algorithm.
func TestMemoryConcurrentExactLimit(t *testing.T) {
	for _, alg := range []Algorithm{GCRA, SlidingWindow, FixedWindow} {
		t.Run(alg.String(), func(t *testing.T) {
			c := newClock()
			s := newMem(t, c)
			got := hammer(t, s, alg, PerMinute(17), 50, 4)
			if got != 17 {
				t.Fatalf("%v: %d requests passed; want exactly 17", alg, got)
			}
		})
	}
}

// hammer runs goroutines×each Takes on one key at once and returns how many
// were allowed.
func hammer(t *testing.T, s Store, alg Algorithm, r Rate, goroutines, each int) int64 {
	t.Helper()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				d, err := s.Take(context.Background(), "shared", r, alg, 1)
				if err != nil {
					t.Errorf("Take: %v", err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	return allowed.Load()
}

func TestMemoryExpiryAndSweep(t *testing.T) {
	c := newClock()
	s := newMem(t, c, WithShards(1), WithMaxKeys(1<<20))
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if _, err := s.Take(ctx, "k"+strconv.Itoa(i), PerSecond(10), GCRA, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n != 1000 {
		t.Fatalf("Len = %d; want 1000", n)
	}
	c.Add(time.Second + time.Minute)
	// Every decision on a live key advances the sweep; each sweep deletes up
	// to sweepBudget expired keys without any request scanning the map.
	for i := 0; i < 40*sweepEvery; i++ {
		if _, err := s.Take(ctx, "live", PerSecond(1_000_000), GCRA, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n > 1 {
		t.Fatalf("Len after sweeps = %d; want only the live key", n)
	}
	// A denied first request stores nothing.
	if d, _ := s.Take(ctx, "huge", PerSecond(1), GCRA, 5); d.Allowed {
		t.Fatal("cost above burst was allowed")
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("denied first request left state behind: Len = %d; want 1", n)
	}
}

func TestMemoryKeyCap(t *testing.T) {
	c := newClock()
	s := newMem(t, c, WithShards(1), WithMaxKeys(100))
	ctx := context.Background()
	r := PerHour(1)
	for i := 0; i < 1000; i++ {
		c.Add(time.Millisecond)
		if _, err := s.Take(ctx, "flood"+strconv.Itoa(i), r, GCRA, 1); err != nil {
			t.Fatal(err)
		}
		if n := s.Len(); n > 100 {
			t.Fatalf("after %d keys Len = %d; want at most the cap 100", i+1, n)
		}
	}
	// At the cap with expired keys present, those go first.
	c.Add(2 * time.Hour)
	if _, err := s.Take(ctx, "new", r, GCRA, 1); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n > 100-sweepBudget+1 {
		t.Fatalf("Len = %d; want expired keys swept to make room", n)
	}
}

func BenchmarkMemoryTake(b *testing.B) {
	for _, alg := range []Algorithm{GCRA, SlidingWindow, FixedWindow} {
		b.Run(alg.String()+"/one-key", func(b *testing.B) {
			s := newMem(b, nil)
			r := PerSecond(1 << 30)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, _ = s.Take(context.Background(), "k", r, alg, 1)
				}
			})
		})
		b.Run(alg.String()+"/100k-keys", func(b *testing.B) {
			s := newMem(b, nil)
			r := PerSecond(1 << 30)
			keys := make([]string, 100_000)
			for i := range keys {
				keys[i] = "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
			}
			var n atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := n.Add(7919)
				for pb.Next() {
					i++
					_, _ = s.Take(context.Background(), keys[i%uint64(len(keys))], r, alg, 1)
				}
			})
		})
	}
}
