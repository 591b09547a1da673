package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/testenv"
	"github.com/redis/go-redis/v9"
)

// cmdCounter is a go-redis hook that records every command sent.
type cmdCounter struct {
	mu    sync.Mutex
	names []string
}

func (c *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		name := cmd.Name()
		if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			// The script was flushed (another test flushes the shared
			// server's scripts): go-redis sends EVAL next, and that pair is
			// one decision's round trip as far as these tests count.
			name += " (noscript)"
		}
		c.mu.Lock()
		c.names = append(c.names, name)
		c.mu.Unlock()
		return err
	}
}

func (c *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		for _, cmd := range cmds {
			c.names = append(c.names, cmd.Name())
		}
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (c *cmdCounter) reset() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.names
	c.names = nil
	return n
}

func newRedisStore(t testing.TB, c redis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	s, err := New(context.Background(), c, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Background lease calls end within the timeout; the test's end waits
	// for them, before its clients close.
	t.Cleanup(s.fills.Wait)
	return s
}

// redisTargets yields a client on the shared Redis and on a local 3-master
// cluster, each with a key prefix owned by the test.
func redisTargets(t *testing.T, run func(t *testing.T, c redis.UniversalClient, prefix string)) {
	t.Run("single", func(t *testing.T) {
		rd := testenv.NewRedis(t)
		run(t, rd.Client, rd.Prefix)
	})
	t.Run("cluster", func(t *testing.T) {
		cc := testenv.RedisCluster(t)
		run(t, cc, "covet-test:"+testenv.RandomID(6)+":")
	})
}

func TestRedisStore(t *testing.T) {
	redisTargets(t, func(t *testing.T, c redis.UniversalClient, prefix string) {
		ctx := context.Background()
		s := newRedisStore(t, c, WithKeyPrefix(prefix))

		t.Run("exact limit under 50 goroutines", func(t *testing.T) {
			for _, alg := range []ratelimit.Algorithm{ratelimit.GCRA, ratelimit.SlidingWindow, ratelimit.FixedWindow} {
				// A day-long period: no window boundary falls inside the test.
				r := ratelimit.Rate{Limit: 23, Period: 24 * time.Hour}
				s := newRedisStore(t, c, WithKeyPrefix(prefix+alg.String()+":"), WithTimeout(5*time.Second))
				if got := hammer(t, s, alg, r, 50, 2); got != 23 {
					t.Errorf("%v: %d passed; want exactly 23", alg, got)
				}
			}
		})

		t.Run("two stores share one limit", func(t *testing.T) {
			other := newRedisStore(t, c, WithKeyPrefix(prefix))
			a := newLimiter(t, s, ratelimit.PerHour(4), ratelimit.WithName("shared"))
			b := newLimiter(t, other, ratelimit.PerHour(4), ratelimit.WithName("shared"))
			allowed := 0
			for i := 0; i < 10; i++ {
				l := a
				if i%2 == 1 {
					l = b
				}
				d, err := l.Allow(ctx, "user")
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed {
					allowed++
				}
			}
			if allowed != 4 {
				t.Fatalf("%d allowed across two stores; want 4", allowed)
			}
		})

		t.Run("decisions", func(t *testing.T) {
			for _, alg := range []ratelimit.Algorithm{ratelimit.GCRA, ratelimit.SlidingWindow, ratelimit.FixedWindow} {
				key := "dec-" + alg.String()
				r := ratelimit.Rate{Limit: 3, Period: 24 * time.Hour}
				d, err := s.Take(ctx, key, r, alg, 2)
				if err != nil || !d.Allowed || d.Remaining != 1 || d.Degraded {
					t.Fatalf("%v: first Take = %+v, %v", alg, d, err)
				}
				if d.ResetAfter <= 0 || d.ResetAfter > 2*r.Period {
					t.Errorf("%v: ResetAfter %v out of range", alg, d.ResetAfter)
				}
				d, _ = s.Take(ctx, key, r, alg, 2)
				if d.Allowed || d.RetryAfter <= 0 {
					t.Fatalf("%v: second Take = %+v; want denied with RetryAfter", alg, d)
				}
				d, _ = s.Take(ctx, key, r, alg, 5)
				if d.Allowed || d.RetryAfter != r.Period {
					t.Fatalf("%v: cost above limit = %+v; want denied for a period", alg, d)
				}
				d, _ = s.Take(ctx, key, r, alg, 0)
				if !d.Allowed || d.Remaining != 1 {
					t.Fatalf("%v: cost 0 = %+v; want allowed, remaining 1", alg, d)
				}
				// The key expires by itself.
				ttl, err := c.PTTL(ctx, s.redisKey(key, alg)).Result()
				if err != nil || ttl <= 0 || ttl > 2*r.Period {
					t.Errorf("%v: PTTL = %v, %v; want an expiry within two periods", alg, ttl, err)
				}
			}
			// ratelimit.GCRA with a burst of 1: the second request waits for one
			// emission interval (6 minutes), less the time between the calls.
			r := ratelimit.PerHour(10).WithBurst(1)
			if d, _ := s.Take(ctx, "burst", r, ratelimit.GCRA, 1); !d.Allowed {
				t.Fatal("first burst request denied")
			}
			if d, _ := s.Take(ctx, "burst", r, ratelimit.GCRA, 1); d.Allowed || d.RetryAfter > 6*time.Minute || d.RetryAfter < 5*time.Minute {
				t.Fatalf("second burst request = %+v; want denied for just under 6m", d)
			}
		})

		t.Run("invalid input", func(t *testing.T) {
			if _, err := s.Take(ctx, "k", ratelimit.PerSecond(1), ratelimit.GCRA, -2); !errors.Is(err, ratelimit.ErrInvalidCost) {
				t.Fatalf("Take(-2) = %v; want ratelimit.ErrInvalidCost", err)
			}
		})
	})
}

// TestRedisOneCommandPerDecision proves with a client hook that each
// decision is a single EVALSHA, and that a flushed script is reloaded.
func TestRedisOneCommandPerDecision(t *testing.T) {
	redisTargets(t, func(t *testing.T, c redis.UniversalClient, prefix string) {
		ctx := context.Background()
		hook := &cmdCounter{}
		c.AddHook(hook)
		s := newRedisStore(t, c, WithKeyPrefix(prefix), WithTimeout(5*time.Second))
		for _, alg := range []ratelimit.Algorithm{ratelimit.GCRA, ratelimit.SlidingWindow, ratelimit.FixedWindow} {
			// The first pass may load the script on each master.
			for i := 0; i < 20; i++ {
				_, _ = s.Take(ctx, "w"+string(rune('a'+i)), ratelimit.PerSecond(100), alg, 1)
			}
			hook.reset()
			for i := 0; i < 20; i++ {
				if _, err := s.Take(ctx, "k"+string(rune('a'+i)), ratelimit.PerSecond(100), alg, 1); err != nil {
					t.Fatal(err)
				}
			}
			names := hook.reset()
			if len(names) != 20 {
				t.Fatalf("%v: 20 decisions sent %d commands: %v", alg, len(names), names)
			}
			for _, n := range names {
				if n != "evalsha" {
					t.Fatalf("%v: command %q; want only evalsha", alg, n)
				}
			}
		}
		// After SCRIPT FLUSH the store reloads the script by itself.
		flush := func(ctx context.Context, n *redis.Client) error { return n.ScriptFlush(ctx).Err() }
		switch cc := c.(type) {
		case *redis.ClusterClient:
			if err := cc.ForEachMaster(ctx, flush); err != nil {
				t.Fatal(err)
			}
		case *redis.Client:
			if err := flush(ctx, cc); err != nil {
				t.Fatal(err)
			}
		}
		hook.reset()
		d, err := s.Take(ctx, "after-flush", ratelimit.PerSecond(100), ratelimit.GCRA, 1)
		if err != nil || !d.Allowed || d.Degraded {
			t.Fatalf("Take after SCRIPT FLUSH = %+v, %v", d, err)
		}
		if names := hook.reset(); strings.Join(names, ",") != "evalsha (noscript),eval" {
			t.Fatalf("after flush sent %v; want evalsha then eval", names)
		}
	})
}

func TestNewErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), MaxRetries: -1})
	defer c.Close()
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   []Option
		want   string
	}{
		{"nil client", nil, nil, "client is nil"},
		{"typed nil client", (*redis.Client)(nil), nil, "client is nil"},
		{"typed nil cluster client", (*redis.ClusterClient)(nil), nil, "client is nil"},
		{"nil option", c, []Option{nil}, "option 0 is nil"},
		{"nil logger", c, []Option{WithLogger(nil)}, "logger is nil"},
		{"brace in prefix", c, []Option{WithKeyPrefix("a{b")}, "prefix"},
		{"zero timeout", c, []Option{WithTimeout(0)}, "timeout"},
		{"bad policy", c, []Option{WithFailurePolicy(9)}, "policy"},
		{"zero threshold", c, []Option{WithBreaker(0, time.Second)}, "threshold"},
		{"zero cooldown", c, []Option{WithBreaker(1, 0)}, "cooldown"},
		{"bad fallback", c, []Option{WithFailurePolicy(ratelimit.LocalFallback), WithFallbackOptions(ratelimit.WithShards(0))}, "fallback"},
		{"fallback options without LocalFallback", c, []Option{WithFallbackOptions(ratelimit.WithShards(4))}, "LocalFallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.client, append(tt.opts, quiet)...)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v; want ErrInvalidConfig naming %q", err, tt.want)
			}
		})
	}
}

// TestRedisOutagePolicies: Redis at a closed port or not answering; each
// policy decides within the per-call timeout.
func TestRedisOutagePolicies(t *testing.T) {
	targets := map[string]func(testing.TB) string{"closed port": testenv.ClosedAddr, "unresponsive": testenv.SilentAddr}
	for tname, addrFn := range targets {
		for _, policy := range []ratelimit.FailurePolicy{ratelimit.FailOpen, ratelimit.FailClosed, ratelimit.LocalFallback} {
			for _, ctxTimeout := range []bool{false, true} {
				t.Run(tname+"/"+policy.String()+"/ctx-timeout="+strconv.FormatBool(ctxTimeout), func(t *testing.T) {
					c := redis.NewClient(&redis.Options{Addr: addrFn(t), MaxRetries: -1, ContextTimeoutEnabled: ctxTimeout})
					defer c.Close()
					var events []Event
					var mu sync.Mutex
					var logs bytes.Buffer
					// The eviction check at construction meets the outage
					// too: a short context keeps it from costing 2 s.
					cctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
					defer cancel()
					s, err := New(cctx, c, WithFailurePolicy(policy), WithTimeout(50*time.Millisecond),
						WithBreaker(1000, time.Minute),
						WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
						WithEventHook(func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }))
					if err != nil {
						t.Fatal(err)
					}
					r := ratelimit.PerHour(2)
					var got []ratelimit.Decision
					for i := 0; i < 3; i++ {
						start := time.Now()
						d, err := s.Take(context.Background(), "k", r, ratelimit.GCRA, 1)
						// Generous bound: the point is that go-redis's own
						// multi-second timeouts do not apply.
						if el := time.Since(start); el > time.Second {
							t.Fatalf("Take took %v with a 50ms timeout", el)
						}
						if err != nil || !d.Degraded {
							t.Fatalf("Take = %+v, %v; want a degraded decision", d, err)
						}
						got = append(got, d)
					}
					want := map[ratelimit.FailurePolicy][]bool{
						ratelimit.FailOpen:      {true, true, true},
						ratelimit.FailClosed:    {false, false, false},
						ratelimit.LocalFallback: {true, true, false},
					}[policy]
					for i, d := range got {
						if d.Allowed != want[i] {
							t.Fatalf("decision %d = %+v; want allowed %v", i, d, want[i])
						}
					}
					if policy == ratelimit.FailClosed && got[0].RetryAfter != time.Minute {
						t.Errorf("fail-closed RetryAfter = %v; want the cooldown", got[0].RetryAfter)
					}
					mu.Lock()
					defer mu.Unlock()
					if len(events) != 6 || events[0].Kind != EventError || events[0].Err == nil || events[1].Kind != EventPolicy || events[1].Policy != policy {
						t.Fatalf("events = %+v; want error+policy per call", events)
					}
					if !strings.Contains(logs.String(), "redis call failed") || !strings.Contains(logs.String(), "policy="+policy.String()) {
						t.Fatalf("logs = %q", logs.String())
					}
				})
			}
		}
	}
}

// TestRedisBreaker: after the threshold the store stops calling Redis until
// the cooldown ends; one probe then closes the breaker when Redis is back.
func TestRedisBreaker(t *testing.T) {
	rd := testenv.NewRedis(t)
	var down atomic.Bool
	opt, err := redis.ParseURL(rd.URL)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
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
	clk := testenv.NewClock(time.Unix(1_800_000_000, 0))
	var kinds []EventKind
	var mu sync.Mutex
	s := newRedisStore(t, c, WithKeyPrefix(rd.Prefix), WithBreaker(3, 10*time.Second), WithFailurePolicy(ratelimit.FailClosed),
		WithLogger(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))),
		WithEventHook(func(e Event) {
			if e.Kind != EventPolicy {
				mu.Lock()
				kinds = append(kinds, e.Kind)
				mu.Unlock()
			}
		}))
	s.now = clk.Now
	ctx := context.Background()
	r := ratelimit.PerHour(100)

	if d, err := s.Take(ctx, "k", r, ratelimit.GCRA, 1); err != nil || !d.Allowed || d.Degraded {
		t.Fatalf("healthy Take = %+v, %v", d, err)
	}
	hook.reset()
	down.Store(true)
	// Drop pooled connections so the outage is seen.
	c.Close()
	c = redis.NewClient(opt)
	defer c.Close()
	c.AddHook(hook)
	s.client = c
	for i := 0; i < 10; i++ {
		if d, _ := s.Take(ctx, "k", r, ratelimit.GCRA, 1); d.Allowed || !d.Degraded {
			t.Fatalf("Take %d during outage = %+v; want fail-closed", i, d)
		}
	}
	if n := hook.reset(); len(n) != 3 {
		t.Fatalf("commands attempted during the outage: %v; want 3 (the threshold), then none", n)
	}
	// Cooldown over, still down: one probe fails and re-opens.
	clk.Add(11 * time.Second)
	for i := 0; i < 5; i++ {
		_, _ = s.Take(ctx, "k", r, ratelimit.GCRA, 1)
	}
	if n := len(hook.reset()); n != 1 {
		t.Fatalf("%d commands after cooldown; want 1 probe", n)
	}
	// Back up: after the next cooldown the probe succeeds and closes. A
	// fresh connection's first command can still fail now and then for
	// reasons of the client's own (a dial that raced the switch), so a
	// failed probe may re-open the breaker; what must hold is one command
	// per failed probe and a closed breaker after a probe that succeeds.
	down.Store(false)
	var probe ratelimit.Decision
	for attempt := 0; attempt < 3; attempt++ {
		clk.Add(11 * time.Second)
		probe, err = s.Take(ctx, "k", r, ratelimit.GCRA, 1)
		if err == nil && probe.Allowed && !probe.Degraded {
			break
		}
		if n := len(hook.reset()); n != 1 {
			t.Fatalf("%d commands for the failed probe after cooldown %d; want 1", n, attempt+1)
		}
		t.Logf("probe %d after recovery = %+v, %v; trying after another cooldown", attempt+1, probe, err)
	}
	if err != nil || !probe.Allowed || probe.Degraded {
		t.Fatalf("probe Take = %+v, %v; want a real decision", probe, err)
	}
	if d, _ := s.Take(ctx, "k", r, ratelimit.GCRA, 1); !d.Allowed || d.Degraded {
		t.Fatalf("Take after recovery = %+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	// The outage: three errors open the breaker, the probe after the first
	// cooldown fails; then, after any failed probes, the one that succeeds
	// closes it.
	head := []EventKind{EventError, EventError, EventError, EventBreakerOpen, EventError}
	if len(kinds) < len(head)+1 || !slices.Equal(kinds[:len(head)], head) || kinds[len(kinds)-1] != EventBreakerClosed {
		t.Fatalf("events %v; want %v, then failed probes' errors, then %v", kinds, head, EventBreakerClosed)
	}
	for _, k := range kinds[len(head) : len(kinds)-1] {
		if k != EventError {
			t.Fatalf("events %v; want only errors between the first failed probe and the close", kinds)
		}
	}
}

func TestRedisCallerCancel(t *testing.T) {
	rd := testenv.NewRedis(t)
	s := newRedisStore(t, rd.Client, WithKeyPrefix(rd.Prefix))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Take(ctx, "k", ratelimit.PerSecond(1), ratelimit.GCRA, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Take with a cancelled context = %v; want context.Canceled", err)
	}
	if s.brk.Open() {
		t.Fatal("a caller's cancellation counted as a Redis failure")
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{EventError: "error", EventBreakerOpen: "breaker-open", EventBreakerClosed: "breaker-closed", EventPolicy: "policy", 0: "EventKind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("EventKind(%d).String() = %q; want %q", k, got, want)
		}
	}
}

func BenchmarkRedisTake(b *testing.B) {
	rd := testenv.NewRedis(b)
	s := newRedisStore(b, rd.Client, WithKeyPrefix(rd.Prefix), WithTimeout(time.Second))
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "k" + string(rune(i))
	}
	var n atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, _ = s.Take(context.Background(), keys[i%1000], ratelimit.PerSecond(1<<30), ratelimit.GCRA, 1)
		}
	})
}
