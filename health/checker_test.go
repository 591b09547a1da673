package health

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"empty name", []Option{WithCheck("", pass)}, "empty check name"},
		{"slash in name", []Option{WithCheck("a/b", pass)}, "only letters"},
		{"colon in name", []Option{WithCheck("db:x", pass)}, "only letters"},
		{"nil func", []Option{WithCheck("db", nil)}, "nil function"},
		{"zero timeout", []Option{WithCheck("db", pass, WithTimeout(0))}, "must be positive"},
		{"duplicate", []Option{WithCheck("db", pass), WithCheck("db", pass)}, "registered twice"},
		{"negative ttl", []Option{WithCacheTTL(-time.Second)}, "negative cache TTL"},
		{"negative interval", []Option{WithInterval(-time.Second)}, "negative interval"},
		{"TTL in background mode", []Option{WithInterval(time.Second), WithCacheTTL(time.Second)}, "WithCacheTTL does not apply"},
		{"nil status hook", []Option{WithStatusHook(nil)}, "nil function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts...)
			if err == nil {
				_ = c.Close()
				t.Fatalf("New() = nil error; want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "health: ") || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New() = %v; want a health: ErrInvalidConfig containing %q", err, tt.want)
			}
		})
	}
}

func TestReportStatus(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want Status
	}{
		{"no checks", nil, StatusPass},
		{"all pass", []Option{WithCheck("a", pass), WithCheck("b", pass)}, StatusPass},
		{"critical fails", []Option{WithCheck("a", pass), WithCheck("b", failWith("down"))}, StatusFail},
		{"non-critical fails", []Option{WithCheck("a", pass), WithCheck("b", failWith("down"), WithCritical(false))}, StatusWarn},
		{"both fail", []Option{WithCheck("a", failWith("x")), WithCheck("b", failWith("down"), WithCritical(false))}, StatusFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, tt.opts...)
			rep, err := c.Report(context.Background())
			if err != nil {
				t.Fatalf("Report: %v", err)
			}
			if rep.Status != tt.want {
				t.Fatalf("Report().Status = %q; want %q", rep.Status, tt.want)
			}
			if len(rep.Checks) != len(tt.opts) {
				t.Fatalf("len(Checks) = %d; want %d", len(rep.Checks), len(tt.opts))
			}
		})
	}
}

func TestPanicBecomesFailure(t *testing.T) {
	c := mustNew(t, WithCheck("boom", func(context.Context) error { panic("kaboom") }))
	rep, err := c.Report(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Checks[0]
	if res.Status != StatusFail || !errors.Is(res.Err, ErrPanic) || !strings.Contains(res.Err.Error(), "kaboom") {
		t.Fatalf("result = %+v; want a failure wrapping ErrPanic", res)
	}
}

func TestTimeoutCancelsContext(t *testing.T) {
	c := mustNew(t, WithCheck("slow", func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}, WithTimeout(20*time.Millisecond)))
	rep, err := c.Report(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Checks[0]
	if !errors.Is(res.Err, ErrTimeout) || !strings.Contains(res.Err.Error(), "20ms") {
		t.Fatalf("Err = %v; want ErrTimeout naming 20ms", res.Err)
	}
	if res.Status != StatusFail || rep.Status != StatusFail {
		t.Fatalf("statuses = %q, %q; want fail", res.Status, rep.Status)
	}
}

// A check that ignores its context: the run still ends at the timeout, later
// runs do not start a second copy, and the goroutine ends once the check
// returns on its own.
func TestCheckIgnoringContext(t *testing.T) {
	clock := newFakeClock()
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var calls atomic.Int32
	c := mustNew(t, withNow(clock.Now), WithCacheTTL(time.Second),
		WithCheck("stuck", func(context.Context) error {
			calls.Add(1)
			started <- struct{}{}
			<-release
			return nil
		}, WithTimeout(10*time.Millisecond)))
	for i := range 3 {
		rep, err := c.Report(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res := rep.Checks[0]; !errors.Is(res.Err, ErrTimeout) {
			t.Fatalf("run %d: Err = %v; want ErrTimeout", i, res.Err)
		}
		clock.Add(2 * time.Second)
	}
	// The runs may all have timed out before the goroutine was scheduled:
	// wait for it to start before counting.
	<-started
	if n := calls.Load(); n != 1 {
		t.Fatalf("check started %d times while stuck; want 1", n)
	}
	close(release)
	// Once it has returned, the next run starts it again and passes.
	for {
		clock.Add(2 * time.Second)
		rep, err := c.Report(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Checks[0].Status == StatusPass {
			break
		}
	}
	// The pass must come from a call started after the release, never from
	// the stuck call's late return (more than one fresh call is fine: on a
	// loaded machine a fresh call can miss its 10 ms too).
	if n := calls.Load(); n < 2 {
		t.Fatalf("check started %d times; want a fresh start after the stuck call", n)
	}
}

func TestCacheTTL(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int32
	c := mustNew(t, withNow(clock.Now), WithCacheTTL(time.Second),
		WithCheck("db", func(context.Context) error { calls.Add(1); return nil }))
	ctx := context.Background()
	for range 5 {
		if _, err := c.Report(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("calls within TTL = %d; want 1", n)
	}
	clock.Add(time.Second)
	if _, err := c.Report(ctx); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("calls after TTL = %d; want 2", n)
	}
}

func TestZeroTTLRunsEveryTime(t *testing.T) {
	var calls atomic.Int32
	c := mustNew(t, WithCacheTTL(0), WithCheck("db", func(context.Context) error { calls.Add(1); return nil }))
	for range 3 {
		if _, err := c.Report(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("calls = %d; want 3", n)
	}
}

// 100 concurrent probes cause exactly one run of each check.
func TestConcurrentProbesShareOneRun(t *testing.T) {
	const probes = 100
	var calls [2]atomic.Int32
	var started sync.WaitGroup
	started.Add(probes)
	gate := func(i int) CheckFunc {
		return func(ctx context.Context) error {
			calls[i].Add(1)
			started.Wait() // hold the run until every probe is under way
			return nil
		}
	}
	c := mustNew(t, WithCacheTTL(time.Hour), WithCheck("a", gate(0)), WithCheck("b", gate(1), WithTimeout(time.Minute)))
	h := c.Readiness()
	codes := make([]int, probes)
	var done sync.WaitGroup
	for i := range probes {
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			codes[i] = get(t, h, "/ready").Code
		}()
	}
	done.Wait()
	for i, n := range []int32{calls[0].Load(), calls[1].Load()} {
		if n != 1 {
			t.Errorf("check %d ran %d times; want 1", i, n)
		}
	}
	for i, code := range codes {
		if code != 200 {
			t.Fatalf("probe %d: code %d; want 200", i, code)
		}
	}
}

func TestReportHonoursCallerContext(t *testing.T) {
	release := make(chan struct{})
	c := mustNew(t, WithCheck("slow", func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}, WithTimeout(time.Minute)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Report(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Report(cancelled) = %v; want context.Canceled", err)
	}
	close(release)
}

func TestStatusHookFiresOnChange(t *testing.T) {
	clock := newFakeClock()
	var healthy atomic.Bool
	healthy.Store(true)
	var changes []Change
	c := mustNew(t, withNow(clock.Now), WithStatusHook(func(ch Change) { changes = append(changes, ch) }),
		WithCheck("db", func(context.Context) error {
			if healthy.Load() {
				return nil
			}
			return errorString("down")
		}))
	ctx := context.Background()
	step := func(ok bool) {
		healthy.Store(ok)
		clock.Add(2 * time.Second)
		if _, err := c.Report(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, ok := range []bool{true, true, false, false, false, true, true} {
		step(ok)
	}
	want := []struct{ from, to Status }{{"", StatusPass}, {StatusPass, StatusFail}, {StatusFail, StatusPass}}
	if len(changes) != len(want) {
		t.Fatalf("hook fired %d times (%+v); want %d", len(changes), changes, len(want))
	}
	for i, w := range want {
		if changes[i].From != w.from || changes[i].To != w.to || changes[i].Check != "db" {
			t.Errorf("change %d = %+v; want %s -> %s", i, changes[i], w.from, w.to)
		}
	}
	if changes[1].Err == nil {
		t.Errorf("change to fail carries no error")
	}
}

func TestBackgroundMode(t *testing.T) {
	tick := make(chan time.Time)
	var calls atomic.Int32
	c := mustNew(t, withTicker(tick), WithInterval(time.Minute),
		WithCheck("db", func(context.Context) error { calls.Add(1); return nil }))
	ctx := context.Background()
	// The first probe waits for the initial run.
	if _, err := c.Report(ctx); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("calls after first run = %d; want 1", n)
	}
	// Probes never start runs in background mode, whatever the TTL.
	for range 5 {
		if _, err := c.Report(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("calls after probes = %d; want 1", n)
	}
	tick <- time.Time{} // the loop takes it and runs
	tick <- time.Time{} // taken only after the previous run finished
	if n := calls.Load(); n < 2 {
		t.Fatalf("calls after ticks = %d; want at least 2", n)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestCloseCancelsRunningChecks(t *testing.T) {
	started := make(chan struct{})
	c, err := New(WithCheck("slow", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, WithTimeout(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	result := make(chan Report, 1)
	go func() {
		rep, _ := c.Report(context.Background())
		result <- rep
	}()
	<-started
	_ = c.Close()
	rep := <-result
	if len(rep.Checks) != 1 || !errors.Is(rep.Checks[0].Err, ErrClosed) {
		t.Fatalf("report after Close = %+v; want ErrClosed", rep)
	}
	if !c.Draining() {
		t.Fatal("Draining() = false after Close")
	}
	// After Close the last results are still served.
	if rep2, err := c.Report(context.Background()); err != nil || len(rep2.Checks) != 1 {
		t.Fatalf("Report after Close = %+v, %v", rep2, err)
	}
}

func TestReportAfterCloseWithoutRun(t *testing.T) {
	c, err := New(WithCheck("a", pass))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if _, err := c.Report(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Report = %v; want ErrClosed", err)
	}
}

// While a run is under way, other callers get the previous results at once
// instead of queueing behind it.
func TestProbesDoNotQueueBehindRun(t *testing.T) {
	clock := newFakeClock()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var calls atomic.Int32
	c := mustNew(t, withNow(clock.Now), WithCacheTTL(time.Second),
		WithCheck("db", func(ctx context.Context) error {
			if calls.Add(1) == 1 {
				return nil
			}
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return errorString("down")
		}, WithTimeout(time.Minute)))
	ctx := context.Background()
	first, err := c.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second) // stale, but within TTL + timeout
	refreshed := make(chan Report, 1)
	go func() {
		rep, _ := c.Report(ctx)
		refreshed <- rep
	}()
	<-started
	during, err := c.Report(ctx) // would block until release if it queued
	if err != nil {
		t.Fatal(err)
	}
	if during.Status != StatusPass || !during.Time.Equal(first.Time) {
		t.Fatalf("report during run = %+v; want the previous one", during)
	}
	close(release)
	if rep := <-refreshed; rep.Status != StatusFail {
		t.Fatalf("refreshed report = %q; want fail", rep.Status)
	}
	// Results older than TTL + the longest timeout are not served while a
	// run is under way: the caller waits for it.
	clock.Add(2 * time.Minute)
	release = make(chan struct{})
	go func() {
		rep, _ := c.Report(ctx)
		refreshed <- rep
	}()
	<-started
	joined := make(chan Report, 1)
	go func() {
		rep, _ := c.Report(ctx)
		joined <- rep
	}()
	close(release)
	for _, ch := range []chan Report{refreshed, joined} {
		if rep := <-ch; !rep.Time.Equal(clock.Now()) {
			t.Fatalf("report time %v; want the new run's %v", rep.Time, clock.Now())
		}
	}
}

func TestStatusHookPanicIsContained(t *testing.T) {
	c := mustNew(t, WithCheck("db", pass), WithStatusHook(func(Change) { panic("hook bug") }))
	rep, err := c.Report(context.Background())
	if err != nil || rep.Status != StatusPass {
		t.Fatalf("Report = %+v, %v; want pass", rep, err)
	}
}
