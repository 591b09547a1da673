package cachex

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/cachex/redisstore"
)

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"nil shared", []Option{WithShared(nil)}, "WithShared: tier is nil"},
		{"typed nil shared", []Option{WithShared((*redisstore.Store)(nil))}, "WithShared: tier is nil"},
		{"no tier", []Option{WithoutLocal()}, "WithoutLocal needs WithShared"},
		{"local ttl alone", []Option{WithLocalTTL(time.Second)}, "WithLocalTTL needs WithShared"},
		{"no invalidation alone", []Option{WithoutInvalidation()}, "WithoutInvalidation needs WithShared"},
		{"local size", []Option{WithLocal(0)}, "WithLocal"},
		{"local ttl", []Option{WithLocalTTL(0)}, "WithLocalTTL"},
		{"compression", []Option{WithCompression(9, 10)}, "WithCompression"},
		{"threshold", []Option{WithCompression(CompressionS2, -1)}, "WithCompression"},
		{"swr", []Option{WithStaleWhileRevalidate(-1)}, "WithStaleWhileRevalidate"},
		{"sie", []Option{WithStaleIfError(-1)}, "WithStaleIfError"},
		{"negative ttl", []Option{WithNegativeTTL(-1)}, "WithNegativeTTL"},
		{"jitter", []Option{WithJitter(1)}, "WithJitter"},
		{"load timeout", []Option{WithLoadTimeout(0)}, "WithLoadTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New[int](tt.opts...)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				if c != nil {
					_ = c.Close()
				}
				t.Fatalf("New(%s) error = %v; want one mentioning %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestLocalSetGetDelete(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newCache[user](t, withClock(clk), WithJitter(0), WithCompression(CompressionZstd, 16))
	u := user{ID: 7, Name: "ann", Tags: []string{"x"}}
	if _, err := c.Get(ctx, "u:7"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on empty cache: %v; want ErrNotFound", err)
	}
	if err := c.Set(ctx, "u:7", u, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "u:7")
	if err != nil || got.Name != "ann" {
		t.Fatalf("Get = %+v, %v; want ann", got, err)
	}
	clk.Add(time.Minute)
	if _, err := c.Get(ctx, "u:7"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after TTL: %v; want ErrNotFound", err)
	}
	_ = c.Set(ctx, "u:7", u, time.Minute)
	if err := c.Delete(ctx, "u:7"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "u:7"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v; want ErrNotFound", err)
	}
	for _, bad := range []error{
		c.Set(ctx, "", u, time.Minute),
		c.Set(ctx, "k", u, 0),
	} {
		if !errors.Is(bad, ErrInvalid) {
			t.Errorf("bad Set error = %v; want ErrInvalid", bad)
		}
	}
	if _, err := c.GetOrLoad(ctx, "k", 0, func(context.Context) (user, error) { return u, nil }); !errors.Is(err, ErrInvalid) {
		t.Errorf("GetOrLoad ttl 0 error = %v; want ErrInvalid", err)
	}
	s := c.Stats()
	if s.Local.Hits != 1 || s.Local.Misses < 3 || s.LocalEntries != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestEncodeError(t *testing.T) {
	c := newCache[any](t)
	err := c.Set(context.Background(), "k", make(chan int), time.Minute)
	if !errors.Is(err, ErrEncode) {
		t.Fatalf("Set(chan) error = %v; want ErrEncode", err)
	}
}

func TestGetOrLoadSingleFlight(t *testing.T) {
	c := newCache[user](t)
	testSingleFlight(t, c)
}

func testSingleFlight(t *testing.T, c *Cache[user]) {
	t.Helper()
	ctx := context.Background()
	var calls atomic.Int32
	release := make(chan struct{})
	loader := func(context.Context) (user, error) {
		calls.Add(1)
		<-release
		return user{ID: 1, Name: "loaded"}, nil
	}
	const n = 1000
	var wg sync.WaitGroup
	var started sync.WaitGroup
	errs := make(chan error, n)
	started.Add(n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			u, err := c.GetOrLoad(ctx, "cold", time.Minute, loader)
			if err == nil && u.Name != "loaded" {
				err = fmt.Errorf("got %+v", u)
			}
			errs <- err
		}()
	}
	started.Wait()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("GetOrLoad: %v", err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("loader called %d times for %d concurrent misses; want 1", got, n)
	}
}

func TestGetOrLoadWaiterContext(t *testing.T) {
	c := newCache[int](t)
	release := make(chan struct{})
	var loadCtxErr atomic.Value
	loader := func(ctx context.Context) (int, error) {
		<-release
		loadCtxErr.Store(fmt.Sprint(ctx.Err()))
		return 42, nil
	}
	first, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(first, "k", time.Minute, loader)
		done <- err
	}()
	// Wait until the first caller's load is in flight.
	for {
		c.flightMu.Lock()
		n := len(c.flights)
		c.flightMu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	second := make(chan int, 1)
	go func() {
		v, _ := c.GetOrLoad(context.Background(), "k", time.Minute, loader)
		second <- v
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller error = %v; want context.Canceled", err)
	}
	close(release)
	if v := <-second; v != 42 {
		t.Fatalf("second caller got %d; want 42", v)
	}
	if got := loadCtxErr.Load(); got != "<nil>" {
		t.Fatalf("load context error = %v; want none (detached from the first caller)", got)
	}
}

func TestGetOrLoadNegative(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newCache[int](t, withClock(clk), WithNegativeTTL(time.Second))
	var calls atomic.Int32
	loader := func(context.Context) (int, error) {
		calls.Add(1)
		return 0, fmt.Errorf("row 9: %w", ErrNotFound)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.GetOrLoad(ctx, "k", time.Minute, loader); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetOrLoad error = %v; want ErrNotFound", err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("loader called %d times; want 1 (negative cached)", calls.Load())
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of negative entry = %v; want ErrNotFound", err)
	}
	clk.Add(time.Second)
	_, _ = c.GetOrLoad(ctx, "k", time.Minute, loader)
	if calls.Load() != 2 {
		t.Fatalf("loader called %d times after negative TTL; want 2", calls.Load())
	}
}

func TestGetOrLoadErrors(t *testing.T) {
	ctx := context.Background()
	c := newCache[int](t)
	boom := errors.New("boom")
	if _, err := c.GetOrLoad(ctx, "k", time.Minute, func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("error = %v; want boom", err)
	}
	if _, err := c.GetOrLoad(ctx, "p", time.Minute, func(context.Context) (int, error) { panic("bad loader") }); !errors.Is(err, ErrLoaderPanic) {
		t.Fatalf("error = %v; want ErrLoaderPanic", err)
	}
	if s := c.Stats(); s.LoadErrors != 2 || s.Loads != 2 {
		t.Fatalf("stats = %+v; want 2 loads, 2 errors", s)
	}
	_, _, err := c.getOrLoad(ctx, "z", nil, func(context.Context) (int, time.Duration, error) { return 1, 0, nil })
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("load with ttl 0: %v; want ErrInvalid", err)
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newCache[int](t, withClock(clk), WithJitter(0), WithStaleWhileRevalidate(time.Minute))
	var calls atomic.Int32
	refreshed := make(chan struct{}, 1)
	loader := func(context.Context) (int, error) {
		n := calls.Add(1)
		if n > 1 {
			defer func() { refreshed <- struct{}{} }()
		}
		return int(n), nil
	}
	if v, _ := c.GetOrLoad(ctx, "k", time.Second, loader); v != 1 {
		t.Fatalf("first = %d; want 1", v)
	}
	clk.Add(2 * time.Second)
	_, stale, _ := c.getOrLoad(ctx, "k", nil, func(ctx context.Context) (int, time.Duration, error) {
		v, err := loader(ctx)
		return v, time.Second, err
	})
	if !stale {
		t.Fatalf("want a stale answer inside the window")
	}
	<-refreshed
	waitIdle(t, c)
	if v, _ := c.GetOrLoad(ctx, "k", time.Second, loader); v != 2 {
		t.Fatalf("after refresh = %d; want 2", v)
	}
	if s := c.Stats(); s.Local.Stale != 1 {
		t.Fatalf("stale count = %d; want 1", s.Local.Stale)
	}
	// Past the window the value is gone and the load is synchronous.
	clk.Add(2 * time.Minute)
	if v, _ := c.GetOrLoad(ctx, "k", time.Second, loader); v != 3 {
		t.Fatalf("past window = %d; want 3", v)
	}
	<-refreshed
}

// waitIdle waits for background loads to finish.
func waitIdle(t *testing.T, c interface{ inflight() int }) {
	t.Helper()
	for c.inflight() > 0 {
		time.Sleep(time.Millisecond)
	}
}

func (c *Cache[V]) inflight() int {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	return len(c.flights)
}

func TestStaleIfError(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newCache[int](t, withClock(clk), WithJitter(0), WithStaleIfError(time.Minute))
	_ = c.Set(ctx, "k", 7, time.Second)
	clk.Add(2 * time.Second)
	v, err := c.GetOrLoad(ctx, "k", time.Second, func(context.Context) (int, error) { return 0, errors.New("db down") })
	if err != nil || v != 7 {
		t.Fatalf("stale-if-error = %d, %v; want 7", v, err)
	}
	v, err = c.GetOrLoad(ctx, "k", time.Second, func(context.Context) (int, error) { return 8, nil })
	if err != nil || v != 8 {
		t.Fatalf("reload = %d, %v; want 8", v, err)
	}
	clk.Add(2 * time.Minute)
	if _, err := c.GetOrLoad(ctx, "k", time.Second, func(context.Context) (int, error) { return 0, errors.New("db down") }); err == nil {
		t.Fatalf("past the window the error must surface")
	}
}

func TestJitter(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newCache[int](t, withClock(clk), WithJitter(0.5), withRand(func() float64 { return 1 }))
	_ = c.Set(ctx, "k", 1, 10*time.Second)
	clk.Add(5 * time.Second)
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("with full jitter the value must expire at half its TTL: %v", err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	c, err := New[int]()
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	_ = c.Close()
	// Loads still work after Close, on the caller's goroutine.
	v, err := c.GetOrLoad(context.Background(), "k", time.Minute, func(context.Context) (int, error) { return 3, nil })
	if err != nil || v != 3 {
		t.Fatalf("GetOrLoad after Close = %d, %v", v, err)
	}
}

func TestLocalBoundedByBytes(t *testing.T) {
	ctx := context.Background()
	c := newCache[string](t, WithLocal(64<<10), WithCompression(CompressionNone, 0))
	big := strings.Repeat("x", 1000)
	for i := 0; i < 500; i++ {
		_ = c.Set(ctx, fmt.Sprint("k", i), big, time.Hour)
	}
	c.local.CleanUp()
	if s := c.Stats(); s.LocalBytes > 64<<10 {
		t.Fatalf("local tier holds %d bytes; bound is %d", s.LocalBytes, 64<<10)
	}
}
