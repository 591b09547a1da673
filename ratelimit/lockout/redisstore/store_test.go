package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/ratelimit/lockout"
	"github.com/covetgo/covet/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t *testing.T, c redis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	s, err := New(context.Background(), c, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func newLockout(t *testing.T, opts ...lockout.Option) *lockout.Lockout {
	t.Helper()
	l, err := lockout.New(opts...)
	if err != nil {
		t.Fatalf("lockout.New: %v", err)
	}
	return l
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

func quiet() Option { return WithLogger(slog.New(slog.DiscardHandler)) }

func TestNewErrors(t *testing.T) {
	c := downClient(t)
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   []Option
		want   string
	}{
		{"nil client", nil, nil, "client is nil"},
		{"typed nil client", (*redis.Client)(nil), nil, "client is nil"},
		{"typed nil ring", (*redis.Ring)(nil), nil, "client is nil"},
		{"nil option", c, []Option{nil}, "option 0 is nil"},
		{"nil logger", c, []Option{WithLogger(nil)}, "logger is nil"},
		{"brace prefix", c, []Option{WithKeyPrefix("{x")}, "prefix"},
		{"zero timeout", c, []Option{WithTimeout(0)}, "timeout"},
		{"zero threshold", c, []Option{WithBreaker(0, time.Second)}, "threshold"},
		{"zero cooldown", c, []Option{WithBreaker(1, 0)}, "cooldown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.client, append(tt.opts, quiet())...)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v; want ErrInvalidConfig naming %q", err, tt.want)
			}
		})
	}
}

// TestNewEviction runs New against private servers whose maxmemory-policy
// and ACLs the test sets.
func TestNewEviction(t *testing.T) {
	cc := testenv.RedisCluster(t)
	var addr string
	var once sync.Once
	if err := cc.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
		once.Do(func() { addr = n.Options().Addr })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	node := func(user string) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: "x"})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	admin := node("")
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "noconfig", "on", "nopass", "~*", "+@all", "-config").Err(); err != nil {
		t.Fatalf("acl setuser: %v", err)
	}
	tests := []struct {
		name    string
		policy  string
		user    string
		opts    []Option
		refused bool
		warning string
	}{
		{"noeviction", "noeviction", "", nil, false, ""},
		{"allkeys-lru refused", "allkeys-lru", "", nil, true, ""},
		{"volatile-lru refused", "volatile-lru", "", nil, true, ""},
		{"allkeys-lru allowed", "allkeys-lru", "", []Option{WithEvictionAllowed()}, false, "allowed by WithEvictionAllowed"},
		{"CONFIG refused", "allkeys-lru", "noconfig", nil, false, "CONFIG refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := admin.ConfigSet(ctx, "maxmemory-policy", tt.policy).Err(); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			opts := append(tt.opts, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			s, err := New(ctx, node(tt.user), opts...)
			if tt.refused {
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.policy) {
					t.Fatalf("New = %v; want ErrInvalidConfig naming %s", err, tt.policy)
				}
				return
			}
			if err != nil || s == nil {
				t.Fatalf("New = %v", err)
			}
			if n := strings.Count(logs.String(), "level=WARN"); (tt.warning != "") != (n == 1) || !strings.Contains(logs.String(), tt.warning) {
				t.Fatalf("logs = %q; want one warning naming %q", logs.String(), tt.warning)
			}
		})
	}
	if err := admin.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
}

func TestStore(t *testing.T) {
	redisTargets(t, func(t *testing.T, c redis.UniversalClient, prefix string) {
		ctx := context.Background()
		s := newStore(t, c, WithKeyPrefix(prefix), WithTimeout(5*time.Second))
		l := newLockout(t, lockout.WithStore(s), lockout.WithMaxFailures(3), lockout.WithLockDuration(time.Minute, 3*time.Minute))
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
		ttl, err := c.PTTL(ctx, s.redisKey("carol")).Result()
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
	})
}

func TestLockGrowth(t *testing.T) {
	rd := testenv.NewRedis(t)
	ctx := context.Background()
	s := newStore(t, rd.Client, WithKeyPrefix(rd.Prefix), WithTimeout(5*time.Second))
	l := newLockout(t, lockout.WithStore(s), lockout.WithMaxFailures(1), lockout.WithLockDuration(time.Millisecond, 4*time.Millisecond))
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
		level, _ := rd.Client.HGet(ctx, s.redisKey("erin"), "l").Int()
		if level != i {
			t.Fatalf("level = %d; want %d", level, i)
		}
		if _, err := l.Fail(ctx, "erin"); err != nil {
			t.Fatal(err)
		}
	}
	if level, _ := rd.Client.HGet(ctx, s.redisKey("erin"), "l").Int(); level != 4 {
		t.Fatalf("final level = %d; want 4", level)
	}
}

func TestRedisDown(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		policy     ratelimit.FailurePolicy
		wantLocked bool
		wantErr    error
	}{
		{ratelimit.LocalFallback, true, nil},
		{ratelimit.FailOpen, false, nil},
		{ratelimit.FailClosed, false, lockout.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.policy.String(), func(t *testing.T) {
			var logs bytes.Buffer
			s := newStore(t, downClient(t), WithBreaker(2, time.Hour), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if !strings.Contains(logs.String(), "cannot read redis maxmemory-policy") {
				t.Errorf("logs = %q; want a warning that the policy could not be read", logs.String())
			}
			l := newLockout(t, lockout.WithStore(s), lockout.WithMaxFailures(3), lockout.WithFailurePolicy(tc.policy))
			var until time.Time
			var err error
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
			if !s.brk.Open() {
				t.Fatal("breaker still closed after repeated failures")
			}
			if n := strings.Count(logs.String(), "circuit breaker open"); n != 1 {
				t.Fatalf("breaker opening logged %d times; want once:\n%s", n, logs.String())
			}
		})
	}
}

func TestRecoversAfterOutage(t *testing.T) {
	rd := testenv.NewRedis(t)
	s := newStore(t, rd.Client, WithKeyPrefix(rd.Prefix), WithBreaker(1, time.Second), quiet())
	l := newLockout(t, lockout.WithStore(s))
	now := time.Now()
	s.now = func() time.Time { return now }
	s.brk.Failure(errors.New("simulated outage")) // threshold 1: open
	if _, err := l.Fail(context.Background(), "bob"); err != nil {
		t.Fatalf("Fail while open = %v; want the local fallback", err)
	}
	now = now.Add(time.Second)
	if _, err := l.Check(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	if s.brk.Open() {
		t.Fatal("breaker did not close after a successful probe")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Check(ctx, "bob"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Check with a cancelled context = %v; want context.Canceled", err)
	}
	if s.brk.Open() {
		t.Fatal("a caller's cancellation counted as a Redis failure")
	}
}
