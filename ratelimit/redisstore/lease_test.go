package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"slices"
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

// TestLeaseRoundTrips: one call per batch, made ahead of need; a refusal
// remembered until its retry time, which refuses none of the units still
// held; and callers that find the lease empty at once share one call.
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
				// Each background call lands before the next decision,
				// so that the count below is exact.
				s.fills.Wait()
			}
			// The first lease is taken by the first decision, and each
			// later one in the background when the lease falls below half
			// (the 6th, 16th, ... 86th decision): ten leases of 10. The
			// 96th starts an 11th call, which Redis refuses (all 100 are
			// leased), while the 4 units still held pay the 97th to 100th.
			if n := scriptCalls(hook.reset()); n != 11 {
				t.Fatalf("%d round trips for 100 decisions with a batch of 10; want 11 (10 leases and the refusal learnt ahead)", n)
			}
			for i := 0; i < 50; i++ {
				d, err := s.Take(ctx, "k", r, alg, 1)
				if err != nil || d.Allowed || d.RetryAfter <= 0 {
					t.Fatalf("Take over the limit = %+v, %v; want refused with a retry time", d, err)
				}
			}
			// The refusal learnt ahead is remembered: the 150 decisions
			// cost 11 calls in all.
			if n := scriptCalls(hook.reset()); n != 0 {
				t.Fatalf("%d round trips for 50 refusals; want 0 (the refusal was learnt ahead)", n)
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
			s.fills.Wait()
			// Whether made by a waiting caller or ahead of need, a call
			// starts only when under 5 units are held and none is in
			// flight; 30 units cover the 25 and leave 5.
			if n := scriptCalls(hook.reset()); allowed.Load() != 25 || n != 3 {
				t.Fatalf("25 concurrent callers: %d allowed, %d round trips; want 25 and 3", allowed.Load(), n)
			}
		})
	}
}

// TestLeaseShare: a lease is at most a tenth of the quota and at least the
// cost asked for, but a lease taken ahead of need only the tenth; a cost of
// 0 asks Redis; a cost over the quota is refused for a period whatever is
// held.
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
		s.fills.Wait()
	}
	// Leases of 2, each taken ahead when the one before is spent, and an
	// 11th call, made when the 20th decision spent the last unit, refused.
	if n := scriptCalls(hook.reset()); n != 11 {
		t.Fatalf("%d round trips for 20 decisions on a limit of 20; want 11 (10 leases of 2 and a refusal)", n)
	}
	if d, err := s.Take(ctx, "big", r, ratelimit.GCRA, 7); err != nil || !d.Allowed {
		t.Fatalf("Take(cost 7) = %+v, %v; want allowed", d, err)
	}
	s.fills.Wait()
	// 7 for the decision, and a lease of 2 taken ahead once it was spent.
	if d, err := s.Take(ctx, "big", r, ratelimit.GCRA, 0); err != nil || !d.Allowed || d.Remaining != 11 {
		t.Fatalf("Take(cost 0) = %+v, %v; want allowed with 11 remaining in Redis", d, err)
	}
	if n := scriptCalls(hook.reset()); n != 3 {
		t.Fatalf("%d round trips; want 3", n)
	}
	if d, err := s.Take(ctx, "big", r, ratelimit.GCRA, 21); err != nil || d.Allowed || d.RetryAfter < 59*time.Minute {
		t.Fatalf("Take(cost over the burst) = %+v, %v; want refused for a period", d, err)
	}
}

// TestLeaseOutage: a lease taken while Redis answered is spent without
// waiting for it (the calls made ahead of need fail in the background and
// count towards the breaker); then the failure policy, the timeout and the
// breaker apply as in the exact mode, and callers waiting on a failed call
// go to the policy without calling again.
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
				WithBreaker(5, time.Minute), WithLease(5, 10*time.Second),
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
			// The four units left of the lease pay without Redis. Below
			// half a lease (2, 1 and 0 left) each decision starts a call
			// ahead of need, which fails in the background.
			for i := 0; i < 4; i++ {
				if d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1); err != nil || !d.Allowed || d.Degraded {
					t.Fatalf("Take %d from the lease = %+v, %v; want allowed, not degraded", i, d, err)
				}
				s.fills.Wait()
			}
			if n := scriptCalls(hook.reset()); n != 3 {
				t.Fatalf("%d calls attempted while the lease paid; want 3, in the background", n)
			}
			// Spent: concurrent callers meet the outage; those waiting on a
			// failed call do not call again, and the breaker opens at 5
			// (3 failures already).
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
			if n := scriptCalls(hook.reset()); degraded.Load() != 20 || n < 1 || n > 2 {
				t.Fatalf("%d of 20 degraded, %d calls attempted; want 20, and 1 or 2 calls (the breaker's threshold, less the 3 failed ahead)", degraded.Load(), n)
			}
			mu.Lock()
			if events[EventPolicy] != 30 || events[EventError] < 4 || events[EventBreakerOpen] != 1 {
				t.Errorf("events %v; want a policy decision per degraded Take (30), the errors (at least 4) and one breaker opening", events)
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

// TestLeaseSpareLapse: units leased ahead of need keep the expiry of the
// call that leased them: they outlive the units before them, are spent
// after them, and lapse maxAge after their own call was sent. Remaining
// counts them.
func TestLeaseSpareLapse(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, hook := newClient(t, rd)
	clk := testenv.NewClock(time.Now())
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second), WithLease(10, time.Second))
	s.now = clk.Now
	ctx := context.Background()
	r := ratelimit.PerHour(1000)
	take := func(wantRemaining int64) {
		t.Helper()
		d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1)
		if err != nil || !d.Allowed || (wantRemaining >= 0 && d.Remaining != wantRemaining) {
			t.Fatalf("Take = %+v, %v; want allowed with %d remaining", d, err, wantRemaining)
		}
		s.fills.Wait()
	}
	take(-1) // a lease of 10, ending at 1 s
	clk.Add(600 * time.Millisecond)
	for i := 0; i < 5; i++ {
		take(-1) // the 5th leaves 4 held and leases 10 more, ending at 1.6 s
	}
	if n := scriptCalls(hook.reset()); n != 2 {
		t.Fatalf("%d round trips; want 2 (a lease and one ahead of need)", n)
	}
	take(980 + 3 + 10) // Redis's 980, and the two leases' units
	clk.Add(400 * time.Millisecond)
	take(980 + 9) // the first lease's 3 lapsed; the second pays
	clk.Add(600*time.Millisecond - 1)
	take(980 + 8)
	if n := scriptCalls(hook.reset()); n != 0 {
		t.Fatalf("%d round trips while the second lease held units; want 0", n)
	}
	clk.Add(1)
	take(970 + 9) // the second lease lapsed: a third
	if n := scriptCalls(hook.reset()); n != 1 {
		t.Fatalf("%d round trips after the second lease lapsed; want 1", n)
	}
}

// scriptHook is a go-redis hook on the script calls (EVALSHA, EVAL) to a
// real Redis: it records the size each lease call asks for, adds a
// latency, and can hold one call until released.
type scriptHook struct {
	delay time.Duration // set before use

	mu      sync.Mutex
	wants   []int64
	entered chan struct{} // closed when the held call arrives
	release chan struct{} // the held call goes on when closed
}

func (h *scriptHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "evalsha" || n == "eval" {
			h.mu.Lock()
			// A lease call's arguments: the command, the script, 1, the
			// key, then algorithm, limit, period, burst, want and need.
			if a := cmd.Args(); len(a) == 10 {
				if w, ok := a[8].(int64); ok {
					h.wants = append(h.wants, w)
				}
			}
			entered, release := h.entered, h.release
			h.entered, h.release = nil, nil
			h.mu.Unlock()
			if entered != nil {
				close(entered)
				<-release
			}
			time.Sleep(h.delay)
		}
		return next(ctx, cmd)
	}
}

func (h *scriptHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// hold makes the next script call wait until release is called; entered
// is closed when the call arrives. release may be called more than once.
func (h *scriptHook) hold() (entered <-chan struct{}, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, r := make(chan struct{}), make(chan struct{})
	h.entered, h.release = e, r
	return e, sync.OnceFunc(func() { close(r) })
}

// takeWants returns the sizes asked for since the last call.
func (h *scriptHook) takeWants() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.wants
	h.wants = nil
	return w
}

// TestLeasePrefetch: below half a lease, a decision starts the next call
// in the background; while it is in flight the units left keep paying
// without waiting, and only a caller that finds the lease spent waits for
// it, without a call of its own.
func TestLeasePrefetch(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, hook := newClient(t, rd)
	sh := &scriptHook{}
	c.AddHook(sh)
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second), WithLease(10, time.Hour))
	ctx := context.Background()
	r := ratelimit.PerHour(100) // leases of 10 at most: every lease is the batch
	if _, err := s.Take(ctx, "warm", r, ratelimit.GCRA, 1); err != nil {
		t.Fatal(err)
	}
	s.fills.Wait()
	hook.reset()
	sh.takeWants()
	take := func() ratelimit.Decision {
		d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1)
		if err != nil || !d.Allowed {
			t.Errorf("Take = %+v, %v; want allowed", d, err)
		}
		return d
	}
	take() // the first lease: 9 left
	entered, release := sh.hold()
	defer release()
	for i := 0; i < 5; i++ {
		take() // the 5th leaves 4, and starts the next call
	}
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no call ahead of need below half a lease")
	}
	// The call is held in flight: the 4 units left pay at once.
	paid := make(chan struct{})
	go func() {
		defer close(paid)
		for i := 0; i < 4; i++ {
			take()
		}
	}()
	select {
	case <-paid:
	case <-time.After(5 * time.Second):
		t.Fatal("decisions the lease could pay waited for the call in flight")
	}
	// Spent: the next caller waits for the call in flight.
	res := make(chan ratelimit.Decision, 1)
	go func() { res <- take() }()
	select {
	case d := <-res:
		t.Fatalf("Take with the lease spent = %+v before the call in flight ended; want it to wait", d)
	case <-time.After(20 * time.Millisecond): // a chance to reach the wait; passing does not depend on it
	}
	release()
	if d := <-res; d.Remaining != 80+9 {
		t.Fatalf("Take after the call = %+v; want 89 remaining (80 in Redis, 9 held)", d)
	}
	s.fills.Wait()
	if n, w := scriptCalls(hook.reset()), sh.takeWants(); n != 2 || len(w) != 2 || w[0] != 10 || w[1] != 10 {
		t.Fatalf("%d round trips asking for %v; want 2 of 10", n, w)
	}
}

// TestLeaseHotKey: a key spent about a thousand times a second through a
// Redis 20 ms away. Once the lease size has followed the spending (a tenth
// of maxAge of it), the call ahead of need lands before the lease is spent
// and no decision waits for Redis; with a fixed batch of 10 (half a lease
// lasting 5 ms) every lease would make callers wait.
func TestLeaseHotKey(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, hook := newClient(t, rd)
	sh := &scriptHook{delay: 20 * time.Millisecond}
	c.AddHook(sh)
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second), WithLease(10, 2*time.Second))
	ctx := context.Background()
	r := ratelimit.PerSecond(1_000_000)
	if _, err := s.Take(ctx, "warm", r, ratelimit.GCRA, 1); err != nil {
		t.Fatal(err)
	}
	hook.reset()
	sh.takeWants()
	const (
		n    = 800
		ramp = 300 // decisions before the size has caught up with the spending
	)
	var stalls int
	var worst time.Duration
	for i := 0; i < n; i++ {
		time.Sleep(time.Millisecond) // pacing the load, not waiting for a result
		start := time.Now()
		d, err := s.Take(ctx, "hot", r, ratelimit.GCRA, 1)
		el := time.Since(start)
		if err != nil || !d.Allowed {
			t.Fatalf("Take %d = %+v, %v; want allowed", i, d, err)
		}
		if i >= ramp {
			worst = max(worst, el)
			// A decision that waited for a call waited for what was left
			// of its 20 ms: count half of that as a wait.
			if el >= sh.delay/2 {
				stalls++
			}
		}
	}
	s.fills.Wait()
	calls, wants := scriptCalls(hook.reset()), sh.takeWants()
	t.Logf("%d decisions: %d round trips, leases %v, slowest decision after the ramp %v", n, calls, wants, worst)
	if stalls > 0 {
		t.Errorf("%d decisions after the ramp took half the call's latency (%v) or more; want none", stalls, sh.delay/2)
	}
	if calls > n/20 {
		t.Errorf("%d round trips for %d decisions; want at most %d (leases larger than the batch)", calls, n, n/20)
	}
}

// TestLeaseAdaptiveSize: a lease asks for the batch, or for what the key
// spends here in a tenth of maxAge when that is more, within a tenth of
// the quota; an idle key drops back to the batch.
func TestLeaseAdaptiveSize(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, hook := newClient(t, rd)
	sh := &scriptHook{}
	c.AddHook(sh)
	clk := testenv.NewClock(time.Now())
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second), WithLease(10, time.Second))
	s.now = clk.Now
	ctx := context.Background()
	if _, err := s.Take(ctx, "warm", ratelimit.PerHour(1000), ratelimit.GCRA, 1); err != nil {
		t.Fatal(err)
	}
	hook.reset()
	sh.takeWants()
	spend := func(key string, r ratelimit.Rate, n int, every time.Duration) {
		t.Helper()
		for i := 0; i < n; i++ {
			if d, err := s.Take(ctx, key, r, ratelimit.GCRA, 1); err != nil || !d.Allowed {
				t.Fatalf("Take %s %d = %+v, %v; want allowed", key, i, d, err)
			}
			s.fills.Wait()
			clk.Add(every)
		}
	}

	// 50 a second: 5 per tenth of maxAge, under the batch.
	spend("slow", ratelimit.PerHour(1_000_000), 200, 20*time.Millisecond)
	hook.reset()
	for _, w := range sh.takeWants() {
		if w != 10 {
			t.Fatalf("a slow key's lease asked for %d; want the batch, 10", w)
		}
	}

	// 100,000 a second: 10,000 per tenth of maxAge, over the quota's
	// tenth (500).
	const quota, spent = 5000, 4000
	r := ratelimit.PerHour(quota)
	spend("hot", r, spent, 10*time.Microsecond)
	calls, wants := scriptCalls(hook.reset()), sh.takeWants()
	t.Logf("hot: %d round trips, leases %v", calls, wants)
	if calls > 40 {
		t.Errorf("%d round trips for %d decisions; want at most 40 (leases of 10 would take %d)", calls, spent, spent/10)
	}
	if top := slices.Max(wants); top != quota/leaseShare {
		t.Errorf("largest lease %d; want the cap, a tenth of the quota (%d)", top, quota/leaseShare)
	}
	// Less than one and a half leases are held beyond what was spent.
	d, err := s.Take(ctx, "hot", r, ratelimit.GCRA, 0)
	if err != nil || quota-d.Remaining-spent >= quota/leaseShare*3/2 {
		t.Errorf("Take(cost 0) = %+v, %v; want under %d leased and unspent", d, err, quota/leaseShare*3/2)
	}

	// Idle for a minute: the lease lapsed, and the next asks for the batch.
	clk.Add(time.Minute)
	spend("hot", r, 1, 0)
	if w := sh.takeWants(); len(w) != 1 || w[0] != 10 {
		t.Errorf("after a minute idle the lease asked for %v; want [10]", w)
	}
}

// TestLeaseSweep: once the table is full, leases with nothing left to
// spend, refuse or wait for are dropped; one whose spare units are still
// live is kept. A key asked for at another rate while a call is in flight
// starts afresh.
func TestLeaseSweep(t *testing.T) {
	ls := newLeases(10, time.Second)
	r := ratelimit.PerHour(100)
	const now = int64(time.Hour)
	for i := 0; i < minSweep-3; i++ {
		ls.m["dead"+strconv.Itoa(i)] = &lease{rate: r, tokens: 5, exp: now}
	}
	ls.m["spare"] = &lease{rate: r, tokens: 0, exp: now, spare: 5, spareExp: now + 1}
	ls.m["refused"] = &lease{rate: r, denyUntil: now + 1, denyNeed: 1}
	ls.m["filling"] = &lease{rate: r, fill: &fill{done: make(chan struct{})}}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.get("new", r, now)
	if len(ls.m) != 4 || ls.m["spare"] == nil || ls.m["refused"] == nil || ls.m["filling"] == nil {
		t.Fatalf("after the sweep %d leases kept; want 4 (spare, refused, filling, new)", len(ls.m))
	}
	if ls.sweep != minSweep {
		t.Fatalf("next sweep at %d; want %d", ls.sweep, minSweep)
	}
	old := ls.m["filling"]
	r2 := ratelimit.PerHour(200)
	if l := ls.get("filling", r2, now); l == old || l.rate != r2 || ls.m["filling"] != l {
		t.Fatalf("get at another rate during a call = %+v; want a fresh lease in the table", l)
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

// TestLeaseBurstAfterIdle: a burst of decisions on a key whose lease is
// the batch (a new key, or one back from idle, whose spending reads low)
// is served in two round trips, not one per batch: the decisions queued
// behind the first call size the second.
func TestLeaseBurstAfterIdle(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, hook := newClient(t, rd)
	sh := &scriptHook{delay: 20 * time.Millisecond}
	c.AddHook(sh)
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second), WithLease(10, 2*time.Second))
	ctx := context.Background()
	r := ratelimit.PerSecond(1_000_000)
	if _, err := s.Take(ctx, "warm", r, ratelimit.GCRA, 1); err != nil {
		t.Fatal(err)
	}
	hook.reset()
	sh.takeWants()
	const n = 300
	var wg sync.WaitGroup
	var refused atomic.Int32
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := s.Take(ctx, "burst", r, ratelimit.GCRA, 1)
			if err != nil || !d.Allowed {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	s.fills.Wait()
	calls, wants := scriptCalls(hook.reset()), sh.takeWants()
	t.Logf("%d concurrent decisions: %d round trips, leases %v", n, calls, wants)
	if refused.Load() > 0 {
		t.Fatalf("%d decisions refused or failed; want every one allowed", refused.Load())
	}
	// The first call asks for the batch; the decisions that arrive during
	// its 20 ms queue and size the next. A few more calls may follow for
	// decisions that arrive between the two, and a background prefetch.
	if calls > 5 {
		t.Errorf("%d round trips for a burst of %d; want at most 5 (the queue sizes the next lease)", calls, n)
	}
}

// TestLeaseQueueCapped: what queued decisions ask for is capped like any
// lease, at a tenth of the quota, so the over-admission bound holds.
func TestLeaseQueueCapped(t *testing.T) {
	rd := testenv.NewRedis(t)
	c, _ := newClient(t, rd)
	sh := &scriptHook{delay: 20 * time.Millisecond}
	c.AddHook(sh)
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second), WithLease(10, 2*time.Second))
	ctx := context.Background()
	r := ratelimit.PerSecond(500) // GCRA burst 500: leases of at most 50
	sh.takeWants()
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.Take(ctx, "capped", r, ratelimit.GCRA, 1)
		}()
	}
	wg.Wait()
	s.fills.Wait()
	for _, w := range sh.takeWants() {
		if w > 50 {
			t.Fatalf("a lease asked for %d units; want at most 50 (a tenth of the quota)", w)
		}
	}
}
