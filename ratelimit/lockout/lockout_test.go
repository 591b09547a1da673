package lockout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/covetgo/covet/ratelimit"
)

// The method set an authentication package would declare.
type accountLocker interface {
	Check(ctx context.Context, account string) (lockedUntil time.Time, err error)
	Fail(ctx context.Context, account string) (lockedUntil time.Time, err error)
	Succeed(ctx context.Context, account string) error
}

var _ accountLocker = (*Lockout)(nil)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// nopStore is a Store that never fails, to build lockouts with a store
// without a service: the policy and option checks happen before any call.
type nopStore struct{}

func (*nopStore) Update(context.Context, string, bool, Rules) (time.Time, error) {
	return time.Time{}, nil
}
func (*nopStore) Clear(context.Context, string) error { return nil }

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"zero failures", []Option{WithMaxFailures(0)}, "max failures"},
		{"tiny window", []Option{WithFailureWindow(0)}, "window"},
		{"tiny lock", []Option{WithLockDuration(0, time.Hour)}, "lock durations"},
		{"max below first", []Option{WithLockDuration(time.Hour, time.Minute)}, "lock durations"},
		{"huge window", []Option{WithFailureWindow(10000 * time.Hour)}, "must not exceed"},
		{"negative memory", []Option{WithLockMemory(-1)}, "lock memory"},
		{"zero keys", []Option{WithMaxKeys(0)}, "max keys"},
		{"nil option", []Option{nil}, "option 0 is nil"},
		{"nil store", []Option{WithStore(nil)}, "WithStore: store is nil"},
		{"typed nil store", []Option{WithStore((*nopStore)(nil))}, "WithStore: store is nil"},
		{"policy without store", []Option{WithFailurePolicy(ratelimit.FailClosed)}, "WithFailurePolicy applies only with WithStore"},
		{"unknown policy", []Option{WithStore(&nopStore{}), WithFailurePolicy(9)}, "unknown failure policy"},
		{"max keys with fail-open store", []Option{WithStore(&nopStore{}), WithFailurePolicy(ratelimit.FailOpen), WithMaxKeys(10)}, "WithMaxKeys applies only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts...)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v; want ErrInvalidConfig naming %q", err, tt.want)
			}
		})
	}
	valid := [][]Option{
		{WithMaxKeys(10), WithMaxFailures(2), WithFailureWindow(time.Minute), WithLockDuration(time.Minute, time.Hour), WithLockMemory(time.Hour)},
		{WithStore(&nopStore{}), WithMaxKeys(10)}, // LocalFallback, the default, keeps memory
		{WithStore(&nopStore{}), WithFailurePolicy(ratelimit.FailClosed)},
	}
	for i, opts := range valid {
		if _, err := New(opts...); err != nil {
			t.Errorf("New(valid set %d) = %v", i, err)
		}
	}
}

// downStore is a Store whose service is always unavailable.
type downStore struct{ calls int }

func (s *downStore) Update(context.Context, string, bool, Rules) (time.Time, error) {
	s.calls++
	return time.Time{}, fmt.Errorf("test store: %w: down", ErrUnavailable)
}
func (s *downStore) Clear(context.Context, string) error {
	s.calls++
	return fmt.Errorf("test store: %w: down", ErrUnavailable)
}

// TestFailurePolicies: while the store is unavailable the policy decides.
// (The Redis store's own outage tests run against a Redis that is down.)
func TestFailurePolicies(t *testing.T) {
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
			s := &downStore{}
			l, err := New(WithStore(s), WithMaxFailures(3), WithFailurePolicy(tc.policy))
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
				t.Fatalf("locked after 3 failures = %v; want %v", locked, tc.wantLocked)
			}
			if err := l.Succeed(ctx, "alice"); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Succeed = %v; want %v", err, tc.wantErr)
			}
			if got, _ := l.Check(ctx, "alice"); !got.IsZero() {
				t.Fatalf("Check after Succeed = %v; want unlocked", got)
			}
			if s.calls != 5 {
				t.Fatalf("store called %d times; want every call tried (5)", s.calls)
			}
		})
	}
}

func TestLockDuration(t *testing.T) {
	c := Rules{FirstLock: time.Minute, LongestLock: 10 * time.Minute}
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
