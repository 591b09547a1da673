package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/covetgo/covet/ratelimit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newLimiter(t *testing.T, s ratelimit.Store, r ratelimit.Rate, opts ...ratelimit.Option) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(s, r, opts...)
	if err != nil {
		t.Fatalf("ratelimit.New: %v", err)
	}
	return l
}

// hammer spends 1 on one key from goroutines × each calls at once and
// returns how many were allowed.
func hammer(t *testing.T, s ratelimit.Store, alg ratelimit.Algorithm, r ratelimit.Rate, goroutines, each int) int64 {
	t.Helper()
	var allowed, degraded atomic.Int64
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
				if d.Degraded {
					degraded.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := degraded.Load(); n > 0 {
		// The failure policy decided these, not Redis: the count says
		// nothing about the store's exactness.
		t.Errorf("%d of %d decisions degraded (a Redis call failed; see the store's log)", n, goroutines*each)
	}
	return allowed.Load()
}
