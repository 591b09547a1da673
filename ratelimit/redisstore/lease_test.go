package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/testenv"
)

// scriptCalls counts the script runs (round trips of a decision) among the
// recorded commands.
func scriptCalls(names []string) int {
	n := 0
	for _, c := range names {
		if c == "evalsha" || c == "eval" {
			n++
		}
	}
	return n
}

// newClient returns a client of its own on the test's Redis, with a
// command counter.
func newClient(t testing.TB, rd *testenv.Redis) (*redis.Client, *cmdCounter) {
	t.Helper()
	opt, err := redis.ParseURL(rd.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	hook := &cmdCounter{}
	c.AddHook(hook)
	return c, hook
}

// TestLeaseThreeReplicas: three replicas, each a store of its own over its
// own client on the same Redis keys, offered twice the limit for five
// windows; together they admit no more than 1 % over what the exact mode
// allows over the same time, with a round trip per batch, not per decision.
func TestLeaseThreeReplicas(t *testing.T) {
	const (
		replicas = 3
		perRep   = 2 // goroutines offering load on each replica
		batch    = 10
		windows  = 5
	)
	r := ratelimit.Rate{Limit: 200, Period: 100 * time.Millisecond}
	for _, alg := range []ratelimit.Algorithm{ratelimit.GCRA, ratelimit.SlidingWindow, ratelimit.FixedWindow} {
		t.Run(alg.String(), func(t *testing.T) {
			rd := testenv.NewRedis(t)
			leaseOpt := WithLease(batch, 50*time.Millisecond)
			if testing.Verbose() && os.Getenv("LEASE_EXACT") != "" {
				leaseOpt = WithTimeout(5 * time.Second)
			}
			var stores [replicas]*Store
			var hooks [replicas]*cmdCounter
			for i := range stores {
				c, hook := newClient(t, rd)
				stores[i] = newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second),
					leaseOpt)
				hooks[i] = hook
			}
			// Load the script first, so the counts below are decisions'.
			if _, err := stores[0].Take(context.Background(), "warm", r, alg, 1); err != nil {
				t.Fatal(err)
			}
			for _, h := range hooks {
				h.reset()
			}
			// Twice the limit's rate, shared by all the goroutines: each
			// offers a request every interval, catching up when late.
			interval := time.Duration(int64(r.Period) * replicas * perRep / (2 * r.Limit))
			var admitted, offered atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			end := start.Add(windows * r.Period)
			for i := 0; i < replicas*perRep; i++ {
				s := stores[i%replicas]
				wg.Add(1)
				go func() {
					defer wg.Done()
					next := start
					for {
						now := time.Now()
						if now.After(end) {
							return
						}
						if next.After(now) {
							time.Sleep(next.Sub(now)) // pacing the load, not waiting for a result
						}
						next = next.Add(interval)
						d, err := s.Take(context.Background(), "shared", r, alg, 1)
						if err != nil {
							t.Errorf("Take: %v", err)
							return
						}
						offered.Add(1)
						if d.Allowed {
							admitted.Add(1)
						}
						if d.Degraded {
							t.Errorf("degraded decision %+v", d)
							return
						}
					}
				}()
			}
			wg.Wait()
			stop := time.Now()
			// What the exact mode allows between start and stop, read on
			// this machine's clock (Redis runs on the same one): GCRA, the
			// burst then one per emission interval; the windows, the limit
			// in every window the run touched.
			var allowance int64
			if alg == ratelimit.GCRA {
				T := (int64(r.Period) + r.Limit - 1) / r.Limit
				allowance = burst(r) + stop.Sub(start).Nanoseconds()/T + 1
			} else {
				P := int64(r.Period)
				allowance = r.Limit * (stop.UnixNano()/P - start.UnixNano()/P + 1)
			}
			calls := 0
			for _, h := range hooks {
				calls += scriptCalls(h.reset())
			}
			got, n := admitted.Load(), offered.Load()
			t.Logf("%v: offered %d (%.1f× the limit) in %v, admitted %d of an exact allowance of %d (%+.2f %%), %d round trips (%.3f per decision)",
				alg, n, float64(n)*float64(r.Period)/float64(r.Limit)/float64(stop.Sub(start)), stop.Sub(start).Round(time.Millisecond),
				got, allowance, 100*float64(got-allowance)/float64(allowance), calls, float64(calls)/float64(n))
			if got*100 > allowance*101 {
				t.Errorf("%v: admitted %d; want at most %d (1 %% over the exact allowance of %d)", alg, got, allowance*101/100, allowance)
			}
			// A call per batch admitted, plus each replica's refusals (one
			// per refill interval); the exact mode makes one per decision.
			if max := n / 3; int64(calls) > max {
				t.Errorf("%v: %d round trips for %d decisions; want at most %d", alg, calls, n, max)
			}
		})
	}
}

// TestLeaseRoundTrips: one call per batch, a refusal remembered until its
// retry time, and callers that find the lease empty at once share one call.
func TestLeaseRoundTrips(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, hook := newClient(t, rd)
	ctx := context.Background()
	for _, alg := range []ratelimit.Algorithm{ratelimit.GCRA, ratelimit.SlidingWindow, ratelimit.FixedWindow} {
		t.Run(alg.String(), func(t *testing.T) {
			// An hour-long period: no window ends and nothing refills
			// during the test.
			r := ratelimit.PerHour(100)
			s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix+alg.String()+":"), WithTimeout(5*time.Second), WithLease(10, time.Hour))
			if _, err := s.Take(ctx, "warm", r, alg, 1); err != nil {
				t.Fatal(err)
			}
			hook.reset()
			for i := 0; i < 100; i++ {
				d, err := s.Take(ctx, "k", r, alg, 1)
				if err != nil || !d.Allowed {
					t.Fatalf("Take %d = %+v, %v; want allowed", i, d, err)
				}
			}
			if n := scriptCalls(hook.reset()); n != 10 {
				t.Fatalf("%d round trips for 100 decisions with a batch of 10; want 10", n)
			}
			for i := 0; i < 50; i++ {
				d, err := s.Take(ctx, "k", r, alg, 1)
				if err != nil || d.Allowed || d.RetryAfter <= 0 {
					t.Fatalf("Take over the limit = %+v, %v; want refused with a retry time", d, err)
				}
			}
			if n := scriptCalls(hook.reset()); n != 1 {
				t.Fatalf("%d round trips for 50 refusals; want 1", n)
			}

			// 25 callers at once on a fresh key: 3 calls (10 + 10 + 10).
			var wg sync.WaitGroup
			var allowed atomic.Int64
			start := make(chan struct{})
			for i := 0; i < 25; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if d, err := s.Take(ctx, "burst", r, alg, 1); err == nil && d.Allowed {
						allowed.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			if n := scriptCalls(hook.reset()); allowed.Load() != 25 || n != 3 {
				t.Fatalf("25 concurrent callers: %d allowed, %d round trips; want 25 and 3", allowed.Load(), n)
			}
		})
	}
}

// TestLeaseShare: a lease is at most a tenth of the quota and at least the
// cost asked for; a cost of 0 asks Redis.
func TestLeaseShare(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, hook := newClient(t, rd)
	ctx := context.Background()
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second), WithLease(50, time.Hour))
	r := ratelimit.PerHour(20) // share: 2
	if _, err := s.Take(ctx, "warm", r, ratelimit.GCRA, 1); err != nil {
		t.Fatal(err)
	}
	hook.reset()
	for i := 0; i < 20; i++ {
		if d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1); err != nil || !d.Allowed {
			t.Fatalf("Take %d = %+v, %v", i, d, err)
		}
	}
	if n := scriptCalls(hook.reset()); n != 10 {
		t.Fatalf("%d round trips for 20 decisions on a limit of 20; want 10 (leases of 2)", n)
	}
	if d, err := s.Take(ctx, "big", r, ratelimit.GCRA, 7); err != nil || !d.Allowed {
		t.Fatalf("Take(cost 7) = %+v, %v; want allowed", d, err)
	}
	if d, err := s.Take(ctx, "big", r, ratelimit.GCRA, 0); err != nil || !d.Allowed || d.Remaining != 13 {
		t.Fatalf("Take(cost 0) = %+v, %v; want allowed with 13 remaining in Redis", d, err)
	}
	if n := scriptCalls(hook.reset()); n != 2 {
		t.Fatalf("%d round trips; want 2", n)
	}
	if d, err := s.Take(ctx, "big", r, ratelimit.GCRA, 21); err != nil || d.Allowed || d.RetryAfter < 59*time.Minute {
		t.Fatalf("Take(cost over the burst) = %+v, %v; want refused for a period", d, err)
	}
}

// TestLeaseOutage: a lease taken while Redis answered is spent without it;
// then the failure policy, the timeout and the breaker apply as in the
// exact mode, and callers waiting on a failed call go to the policy
// without calling again.
func TestLeaseOutage(t *testing.T) {
	for _, policy := range []ratelimit.FailurePolicy{ratelimit.FailOpen, ratelimit.FailClosed, ratelimit.LocalFallback} {
		t.Run(policy.String(), func(t *testing.T) {
			rd := testenv.NewRedis(t)
			opt, err := redis.ParseURL(rd.URL)
			if err != nil {
				t.Fatal(err)
			}
			opt.MaxRetries = -1
			var down atomic.Bool
			var dialer net.Dialer
			opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
				if down.Load() {
					return nil, errors.New("injected: connection refused")
				}
				return dialer.DialContext(ctx, network, addr)
			}
			c := redis.NewClient(opt)
			defer c.Close()
			hook := &cmdCounter{}
			c.AddHook(hook)
			clk := testenv.NewClock(time.Now())
			var mu sync.Mutex
			events := map[EventKind]int{}
			s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithFailurePolicy(policy),
				WithBreaker(3, time.Minute), WithLease(5, 10*time.Second),
				WithLogger(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))),
				WithEventHook(func(e Event) { mu.Lock(); events[e.Kind]++; mu.Unlock() }))
			s.now = clk.Now
			ctx := context.Background()
			r := ratelimit.PerHour(1000)
			if d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1); err != nil || !d.Allowed || d.Degraded {
				t.Fatalf("healthy Take = %+v, %v", d, err)
			}
			hook.reset()
			down.Store(true)
			c.Close() // drop pooled connections so the outage is seen
			c = redis.NewClient(opt)
			defer c.Close()
			c.AddHook(hook)
			s.client = c
			// The four units left of the lease need no Redis.
			for i := 0; i < 4; i++ {
				if d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1); err != nil || !d.Allowed || d.Degraded {
					t.Fatalf("Take %d from the lease = %+v, %v; want allowed, not degraded", i, d, err)
				}
			}
			if n := len(hook.reset()); n != 0 {
				t.Fatalf("%d commands while the lease paid; want none", n)
			}
			// Spent: concurrent callers meet the outage; those waiting on a
			// failed call do not call again, and the breaker opens at 3.
			var wg sync.WaitGroup
			var degraded atomic.Int64
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1)
					if err != nil {
						t.Errorf("Take during the outage: %v", err)
					}
					if d.Degraded {
						degraded.Add(1)
					}
					wantAllowed := policy != ratelimit.FailClosed
					if d.Allowed != wantAllowed {
						t.Errorf("Take during the outage = %+v; want allowed %v", d, wantAllowed)
					}
				}()
			}
			wg.Wait()
			for i := 0; i < 10; i++ {
				if d, _ := s.Take(ctx, "k", r, ratelimit.GCRA, 1); !d.Degraded {
					t.Fatalf("Take after the breaker opened = %+v; want degraded", d)
				}
			}
			if n := scriptCalls(hook.reset()); degraded.Load() != 20 || n < 1 || n > 3 {
				t.Fatalf("%d of 20 degraded, %d calls attempted; want 20, and 1 to 3 calls (the breaker's threshold)", degraded.Load(), n)
			}
			mu.Lock()
			if events[EventPolicy] != 30 || events[EventError] < 1 {
				t.Errorf("events %v; want a policy decision per degraded Take (30) and the errors", events)
			}
			mu.Unlock()
			// Back up, after the cooldown: the probe takes a new lease.
			down.Store(false)
			clk.Add(2 * time.Minute)
			var d ratelimit.Decision
			for attempt := 0; attempt < 3; attempt++ {
				if d, err = s.Take(ctx, "k", r, ratelimit.GCRA, 1); err == nil && d.Allowed && !d.Degraded {
					break
				}
				clk.Add(2 * time.Minute) // a fresh connection's first dial may still fail
			}
			if err != nil || !d.Allowed || d.Degraded {
				t.Fatalf("Take after recovery = %+v, %v", d, err)
			}
		})
	}
}

// TestLeaseLapse: a lease not spent within maxAge is dropped, and the next
// decision asks Redis.
func TestLeaseLapse(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, hook := newClient(t, rd)
	clk := testenv.NewClock(time.Now())
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second), WithLease(10, time.Second))
	s.now = clk.Now
	ctx := context.Background()
	r := ratelimit.PerHour(1000)
	for i := 0; i < 2; i++ {
		if _, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1); err != nil {
			t.Fatal(err)
		}
	}
	hook.reset()
	clk.Add(time.Second)
	if d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1); err != nil || !d.Allowed {
		t.Fatalf("Take = %+v, %v", d, err)
	}
	if n := scriptCalls(hook.reset()); n != 1 {
		t.Fatalf("%d round trips after the lease lapsed; want 1", n)
	}
	// Redis counted both leases in full: 20 taken of 1000.
	if d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 0); err != nil || d.Remaining != 980 {
		t.Fatalf("Take(cost 0) = %+v, %v; want 980 remaining", d, err)
	}
}

// TestLeaseCallerCancel: a caller waiting for another's call gives up with
// its context.
func TestLeaseCallerCancel(t *testing.T) {
	rd := testenv.NewRedis(t)
	s := newRedisStore(t, rd.Client, WithKeyPrefix(rd.Prefix), WithLease(10, time.Second))
	ls := s.leases
	r := ratelimit.PerHour(1000)
	rk := s.redisKey("k", ratelimit.GCRA)
	ls.mu.Lock()
	l := ls.get(rk, r, 0)
	l.fill = &fill{done: make(chan struct{})} // a call in flight that never ends
	ls.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Take while waiting = %v; want context.Canceled", err)
	}
}

// callCounter is a go-redis hook that counts round trips.
type callCounter struct{ n atomic.Int64 }

func (c *callCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *callCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}

func (c *callCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// BenchmarkRedisLease compares the exact mode with leases of 10 and 100
// on 64 keys (a few busy clients), reporting Redis round trips per
// decision.
func BenchmarkRedisLease(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"exact", nil},
		{"lease=10", []Option{WithLease(10, time.Second)}},
		{"lease=100", []Option{WithLease(100, time.Second)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rd := testenv.NewRedis(b)
			c, _ := newClient(b, rd)
			calls := &callCounter{}
			c.AddHook(calls)
			s := newRedisStore(b, c, append([]Option{WithKeyPrefix(rd.Prefix), WithTimeout(time.Second)}, bc.opts...)...)
			keys := make([]string, 64)
			for i := range keys {
				keys[i] = "k" + strconv.Itoa(i)
			}
			r := ratelimit.PerSecond(1 << 30)
			var n atomic.Uint64
			calls.n.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					_, _ = s.Take(context.Background(), keys[i%64], r, ratelimit.GCRA, 1)
				}
			})
			b.ReportMetric(float64(calls.n.Load())/float64(b.N), "calls/op")
		})
	}
}

// TestFixedWindowStaleKey: a fixed-window counter whose expiry falls
// before the current window's end is the previous window's (Redis keeps
// expiry in whole milliseconds, so it can outlive its window by up to one),
// and counts nothing now, in both modes. Before, the first millisecond of
// a window could meet the full count of the one before and, leased,
// remember that refusal for the whole window.
func TestFixedWindowStaleKey(t *testing.T) {
	rd := testenv.NewRedis(t)
	ctx := context.Background()
	r := ratelimit.Rate{Limit: 5, Period: 24 * time.Hour}
	for _, mode := range []struct {
		name string
		opts []Option
	}{{"exact", nil}, {"lease", []Option{WithLease(10, time.Hour)}}} {
		t.Run(mode.name, func(t *testing.T) {
			prefix := rd.Prefix + mode.name + ":"
			s := newRedisStore(t, rd.Client, append([]Option{WithKeyPrefix(prefix), WithTimeout(5 * time.Second)}, mode.opts...)...)
			// A full count expiring in 200 ms: the day's window ends later.
			if err := rd.Client.Set(ctx, s.redisKey("k", ratelimit.FixedWindow), 5, 200*time.Millisecond).Err(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				if d, err := s.Take(ctx, "k", r, ratelimit.FixedWindow, 1); err != nil || !d.Allowed {
					t.Fatalf("Take %d = %+v, %v; want allowed (the stale count dropped)", i, d, err)
				}
			}
			if d, err := s.Take(ctx, "k", r, ratelimit.FixedWindow, 1); err != nil || d.Allowed {
				t.Fatalf("sixth Take = %+v, %v; want refused", d, err)
			}
			if ttl := rd.Client.PTTL(ctx, s.redisKey("k", ratelimit.FixedWindow)).Val(); ttl < time.Second {
				t.Fatalf("counter PTTL = %v; want the window's end", ttl)
			}
		})
	}
}
