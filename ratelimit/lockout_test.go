package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// The method set an authentication package would declare.
type accountLocker interface {
	Check(ctx context.Context, account string) (lockedUntil time.Time, err error)
	Fail(ctx context.Context, account string) (lockedUntil time.Time, err error)
	Succeed(ctx context.Context, account string) error
}

var _ accountLocker = (*Lockout)(nil)

func TestLockoutErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []LockoutOption
	}{
		{"zero failures", []LockoutOption{WithMaxFailures(0)}},
		{"tiny window", []LockoutOption{WithFailureWindow(0)}},
		{"tiny lock", []LockoutOption{WithLockDuration(0, time.Hour)}},
		{"max below first", []LockoutOption{WithLockDuration(time.Hour, time.Minute)}},
		{"huge window", []LockoutOption{WithFailureWindow(10000 * time.Hour)}},
		{"negative memory", []LockoutOption{WithLockMemory(-1)}},
		{"brace prefix", []LockoutOption{WithLockoutPrefix("{x")}},
		{"zero timeout", []LockoutOption{WithLockoutTimeout(0)}},
		{"zero keys", []LockoutOption{WithLockoutMaxKeys(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewLockout(tt.opts...); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewLockout = %v; want ErrInvalidConfig", err)
			}
			c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
			defer c.Close()
			if _, err := NewRedisLockout(c, tt.opts...); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewRedisLockout = %v; want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := NewRedisLockout(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewRedisLockout(nil) = %v", err)
	}
}

func TestLockDuration(t *testing.T) {
	c := lockoutConfig{base: time.Minute, max: 10 * time.Minute}
	for lvl, want := range map[int64]time.Duration{1: time.Minute, 2: 2 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 500: 10 * time.Minute} {
		if got := c.lockDuration(lvl); got != want {
			t.Errorf("lockDuration(%d) = %v; want %v", lvl, got, want)
		}
	}
}

func TestLockoutMemory(t *testing.T) {
	clk := newClock()
	l, err := NewLockout(WithMaxFailures(3), WithFailureWindow(time.Minute), WithLockDuration(time.Minute, 3*time.Minute), WithLockMemory(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	l.now = clk.Now
	ctx := context.Background()
	mustZero := func(tm time.Time, err error) {
		t.Helper()
		if err != nil || !tm.IsZero() {
			t.Fatalf("got %v, %v; want not locked", tm, err)
		}
	}
	// Failures spread beyond the window do not lock.
	mustZero(l.Fail(ctx, "bob"))
	mustZero(l.Fail(ctx, "bob"))
	clk.Add(61 * time.Second)
	mustZero(l.Fail(ctx, "bob"))
	mustZero(l.Fail(ctx, "bob"))
	// The third within the window locks for 1m.
	until, err := l.Fail(ctx, "bob")
	if err != nil || !until.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("third failure: %v, %v; want locked for 1m", until, err)
	}
	if got, _ := l.Check(ctx, "bob"); !got.Equal(until) {
		t.Fatalf("Check = %v; want %v", got, until)
	}
	// Failures while locked are not counted.
	if got, _ := l.Fail(ctx, "bob"); !got.Equal(until) {
		t.Fatalf("Fail while locked = %v", got)
	}
	mustZero(l.Check(ctx, "alice"))
	// The next lock doubles, then caps.
	for _, want := range []time.Duration{2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		clk.Add(4 * time.Minute)
		mustZero(l.Check(ctx, "bob"))
		var got time.Time
		for i := 0; i < 3; i++ {
			got, _ = l.Fail(ctx, "bob")
		}
		if !got.Equal(clk.Now().Add(want)) {
			t.Fatalf("lock = %v; want %v", got.Sub(clk.Now()), want)
		}
	}
	// Success resets everything.
	clk.Add(4 * time.Minute)
	if err := l.Succeed(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		mustZero(l.Fail(ctx, "bob"))
	}
	if got, _ := l.Fail(ctx, "bob"); !got.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("lock after success = %v; want back to 1m", got.Sub(clk.Now()))
	}
	// The lock level is forgotten after the lock memory.
	clk.Add(2 * time.Hour)
	for i := 0; i < 2; i++ {
		mustZero(l.Fail(ctx, "bob"))
	}
	if got, _ := l.Fail(ctx, "bob"); !got.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("lock after memory = %v; want 1m", got.Sub(clk.Now()))
	}
}

func TestLockoutMemoryCap(t *testing.T) {
	clk := newClock()
	l, err := NewLockout(WithLockoutMaxKeys(50))
	if err != nil {
		t.Fatal(err)
	}
	l.now = clk.Now
	ctx := context.Background()
	for i := 0; i < 2000; i++ {
		clk.Add(time.Second)
		if _, err := l.Fail(ctx, "acct"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		if n := len(l.mem.m); n > 50 {
			t.Fatalf("after %d accounts %d tracked; want at most 50", i+1, n)
		}
	}
}

func TestLockoutRedis(t *testing.T) {
	redisTargets(t, func(t *testing.T, c redis.UniversalClient, prefix string) {
		ctx := context.Background()
		l, err := NewRedisLockout(c, WithLockoutPrefix(prefix), WithMaxFailures(3),
			WithLockDuration(time.Minute, 3*time.Minute), WithLockoutTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if until, err := l.Fail(ctx, "carol"); err != nil || !until.IsZero() {
				t.Fatalf("failure %d: %v, %v", i, until, err)
			}
		}
		before := time.Now()
		until, err := l.Fail(ctx, "carol")
		if err != nil || until.Before(before.Add(59*time.Second)) || until.After(time.Now().Add(61*time.Second)) {
			t.Fatalf("third failure: %v, %v; want locked for about 1m", until, err)
		}
		if got, err := l.Check(ctx, "carol"); err != nil || !got.Equal(until) {
			t.Fatalf("Check = %v, %v; want %v", got, err, until)
		}
		if got, _ := l.Fail(ctx, "carol"); !got.Equal(until) {
			t.Fatalf("Fail while locked = %v; want %v", got, until)
		}
		ttl, err := c.PTTL(ctx, l.redisKey("carol")).Result()
		if err != nil || ttl < time.Minute {
			t.Fatalf("PTTL = %v, %v; want the key kept at least for the lock", ttl, err)
		}
		if got, _ := l.Check(ctx, "dave"); !got.IsZero() {
			t.Fatalf("unrelated account locked until %v", got)
		}
		if err := l.Succeed(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.Check(ctx, "carol"); !got.IsZero() {
			t.Fatalf("Check after Succeed = %v", got)
		}
		// Redis down with FailClosed: errors reach the caller.
		dead := redis.NewClient(&redis.Options{Addr: closedPort(t), MaxRetries: -1})
		defer dead.Close()
		ld, _ := NewRedisLockout(dead, WithLockoutFailurePolicy(FailClosed))
		if _, err := ld.Check(ctx, "x"); err == nil {
			t.Fatal("Check on a dead Redis returned no error")
		}
		if err := ld.Succeed(ctx, "x"); err == nil {
			t.Fatal("Succeed on a dead Redis returned no error")
		}
	})
}

func TestLockoutRedisGrowth(t *testing.T) {
	rd := testenv.NewRedis(t)
	ctx := context.Background()
	l, err := NewRedisLockout(rd.Client, WithLockoutPrefix(rd.Prefix), WithMaxFailures(1),
		WithLockDuration(time.Millisecond, 4*time.Millisecond), WithLockoutTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// Raise the level directly: each expired lock followed by a failure
	// doubles the next lock. Redis time moves on its own, so wait for each
	// lock to end by polling Check rather than sleeping a fixed time.
	for i := 0; i < 4; i++ {
		for {
			u, err := l.Check(ctx, "erin")
			if err != nil {
				t.Fatal(err)
			}
			if u.IsZero() {
				break
			}
		}
		level, _ := rd.Client.HGet(ctx, l.redisKey("erin"), "l").Int()
		if level != i {
			t.Fatalf("level = %d; want %d", level, i)
		}
		if _, err := l.Fail(ctx, "erin"); err != nil {
			t.Fatal(err)
		}
	}
	if level, _ := rd.Client.HGet(ctx, l.redisKey("erin"), "l").Int(); level != 4 {
		t.Fatalf("final level = %d; want 4", level)
	}
}

// downClient is a client of an address nothing listens on.
func downClient(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestLockoutRedisDown(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		policy     FailurePolicy
		wantLocked bool
		wantErr    error
	}{
		{LocalFallback, true, nil},
		{FailOpen, false, nil},
		{FailClosed, false, ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.policy.String(), func(t *testing.T) {
			var logs bytes.Buffer
			l, err := NewRedisLockout(downClient(t), WithMaxFailures(3), WithLockoutFailurePolicy(tc.policy),
				WithLockoutBreaker(2, time.Hour), WithLockoutLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			var until time.Time
			for i := range 3 {
				until, err = l.Fail(ctx, "alice")
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Fatalf("Fail #%d = %v; want %v", i, err, tc.wantErr)
				}
			}
			if locked := !until.IsZero(); locked != tc.wantLocked {
				t.Fatalf("%v: locked after 3 failures = %v; want %v", tc.policy, locked, tc.wantLocked)
			}
			if _, err := l.Check(ctx, "alice"); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Check = %v; want %v", err, tc.wantErr)
			}
			if err := l.Succeed(ctx, "alice"); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Succeed = %v; want %v", err, tc.wantErr)
			}
			if !l.brk.Open() {
				t.Fatal("breaker still closed after repeated failures")
			}
			if n := strings.Count(logs.String(), "circuit breaker open"); n != 1 {
				t.Fatalf("breaker opening logged %d times; want once:\n%s", n, logs.String())
			}
		})
	}
	if _, err := NewRedisLockout(downClient(t), WithLockoutFailurePolicy(9)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("unknown policy: %v; want ErrInvalidConfig", err)
	}
	if _, err := NewRedisLockout(downClient(t), WithLockoutBreaker(0, time.Second)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("zero threshold: %v; want ErrInvalidConfig", err)
	}
	if _, err := NewRedisLockout(downClient(t), WithLockoutBreaker(1, 0)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("zero cooldown: %v; want ErrInvalidConfig", err)
	}
}

func TestLockoutRecoversAfterOutage(t *testing.T) {
	rd := testenv.NewRedis(t)
	l, err := NewRedisLockout(rd.Client, WithLockoutPrefix(rd.Prefix), WithLockoutBreaker(1, time.Second),
		WithLockoutLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	l.now = clk.Now
	l.brk.Failure(errors.New("simulated outage")) // threshold 1: open
	if _, err := l.Fail(context.Background(), "bob"); err != nil {
		t.Fatalf("Fail while open = %v; want the local fallback", err)
	}
	clk.Add(time.Second)
	if _, err := l.Check(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	if l.brk.Open() {
		t.Fatal("breaker did not close after a successful probe")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Check(ctx, "bob"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Check with a cancelled context = %v; want context.Canceled", err)
	}
}
