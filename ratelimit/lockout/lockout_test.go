package lockout

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/covetgo/covet/ratelimit"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// The method set an authentication package would declare.
type accountLocker interface {
	Check(ctx context.Context, account string) (lockedUntil time.Time, err error)
	Fail(ctx context.Context, account string) (lockedUntil time.Time, err error)
	Succeed(ctx context.Context, account string) error
}

var _ accountLocker = (*Lockout)(nil)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLockoutErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"zero failures", []Option{WithMaxFailures(0)}},
		{"tiny window", []Option{WithFailureWindow(0)}},
		{"tiny lock", []Option{WithLockDuration(0, time.Hour)}},
		{"max below first", []Option{WithLockDuration(time.Hour, time.Minute)}},
		{"huge window", []Option{WithFailureWindow(10000 * time.Hour)}},
		{"negative memory", []Option{WithLockMemory(-1)}},
		{"brace prefix", []Option{WithKeyPrefix("{x")}},
		{"zero timeout", []Option{WithTimeout(0)}},
		{"zero keys", []Option{WithMaxKeys(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts...); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v; want ErrInvalidConfig", err)
			}
			c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
			defer c.Close()
			if _, err := NewRedis(c, tt.opts...); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewRedis = %v; want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := NewRedis(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewRedis(nil) = %v", err)
	}
}

// The Redis-only options are refused by New rather than ignored.
func TestNewRefusesRedisOptions(t *testing.T) {
	for _, o := range []Option{WithKeyPrefix("p:"), WithTimeout(time.Second), WithFailurePolicy(ratelimit.FailOpen),
		WithBreaker(3, time.Second), WithLogger(slog.Default())} {
		if _, err := New(WithMaxKeys(10), o); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "NewRedis only") {
			t.Errorf("New(Redis-only option) = %v; want ErrInvalidConfig naming NewRedis", err)
		}
	}
	if _, err := New(WithMaxKeys(10), WithMaxFailures(2), WithFailureWindow(time.Minute),
		WithLockDuration(time.Minute, time.Hour), WithLockMemory(time.Hour)); err != nil {
		t.Errorf("New(memory options) = %v", err)
	}
}

func TestLockDuration(t *testing.T) {
	c := config{base: time.Minute, max: 10 * time.Minute}
	for lvl, want := range map[int64]time.Duration{1: time.Minute, 2: 2 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 500: 10 * time.Minute} {
		if got := c.lockDuration(lvl); got != want {
			t.Errorf("lockDuration(%d) = %v; want %v", lvl, got, want)
		}
	}
}

// The memory tests run on synctest's fake clock: time.Sleep moves it.
func TestLockoutMemory(t *testing.T) { synctest.Test(t, testLockoutMemory) }

func testLockoutMemory(t *testing.T) {
	l, err := New(WithMaxFailures(3), WithFailureWindow(time.Minute), WithLockDuration(time.Minute, 3*time.Minute), WithLockMemory(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
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
	time.Sleep(61 * time.Second)
	mustZero(l.Fail(ctx, "bob"))
	mustZero(l.Fail(ctx, "bob"))
	// The third within the window locks for 1m.
	until, err := l.Fail(ctx, "bob")
	if err != nil || !until.Equal(time.Now().Add(time.Minute)) {
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
		time.Sleep(4 * time.Minute)
		mustZero(l.Check(ctx, "bob"))
		var got time.Time
		for i := 0; i < 3; i++ {
			got, _ = l.Fail(ctx, "bob")
		}
		if !got.Equal(time.Now().Add(want)) {
			t.Fatalf("lock = %v; want %v", time.Until(got), want)
		}
	}
	// Success resets everything.
	time.Sleep(4 * time.Minute)
	if err := l.Succeed(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		mustZero(l.Fail(ctx, "bob"))
	}
	if got, _ := l.Fail(ctx, "bob"); !got.Equal(time.Now().Add(time.Minute)) {
		t.Fatalf("lock after success = %v; want back to 1m", time.Until(got))
	}
	// The lock level is forgotten after the lock memory.
	time.Sleep(2 * time.Hour)
	for i := 0; i < 2; i++ {
		mustZero(l.Fail(ctx, "bob"))
	}
	if got, _ := l.Fail(ctx, "bob"); !got.Equal(time.Now().Add(time.Minute)) {
		t.Fatalf("lock after memory = %v; want 1m", time.Until(got))
	}
}

func TestLockoutMemoryCap(t *testing.T) { synctest.Test(t, testLockoutMemoryCap) }

func testLockoutMemoryCap(t *testing.T) {
	l, err := New(WithMaxKeys(50))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 2000; i++ {
		time.Sleep(time.Second)
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
		l, err := NewRedis(c, WithKeyPrefix(prefix), WithMaxFailures(3),
			WithLockDuration(time.Minute, 3*time.Minute), WithTimeout(5*time.Second))
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
		dead := redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), MaxRetries: -1})
		defer dead.Close()
		ld, _ := NewRedis(dead, WithFailurePolicy(ratelimit.FailClosed))
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
	l, err := NewRedis(rd.Client, WithKeyPrefix(rd.Prefix), WithMaxFailures(1),
		WithLockDuration(time.Millisecond, 4*time.Millisecond), WithTimeout(5*time.Second))
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

// redisTargets runs fn against a single Redis and a Redis Cluster.
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

// downClient is a client of an address nothing listens on.
func downClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestLockoutRedisDown(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		policy     ratelimit.FailurePolicy
		wantLocked bool
		wantErr    error
	}{
		{ratelimit.LocalFallback, true, nil},
		{ratelimit.FailOpen, false, nil},
		{ratelimit.FailClosed, false, ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.policy.String(), func(t *testing.T) {
			var logs bytes.Buffer
			l, err := NewRedis(downClient(t), WithMaxFailures(3), WithFailurePolicy(tc.policy),
				WithBreaker(2, time.Hour), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
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
	if _, err := NewRedis(downClient(t), WithFailurePolicy(9)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("unknown policy: %v; want ErrInvalidConfig", err)
	}
	if _, err := NewRedis(downClient(t), WithBreaker(0, time.Second)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("zero threshold: %v; want ErrInvalidConfig", err)
	}
	if _, err := NewRedis(downClient(t), WithBreaker(1, 0)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("zero cooldown: %v; want ErrInvalidConfig", err)
	}
}

func TestLockoutRecoversAfterOutage(t *testing.T) {
	rd := testenv.NewRedis(t)
	l, err := NewRedis(rd.Client, WithKeyPrefix(rd.Prefix), WithBreaker(1, time.Second),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	l.now = func() time.Time { return now }
	l.brk.Failure(errors.New("simulated outage")) // threshold 1: open
	if _, err := l.Fail(context.Background(), "bob"); err != nil {
		t.Fatalf("Fail while open = %v; want the local fallback", err)
	}
	now = now.Add(time.Second)
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
