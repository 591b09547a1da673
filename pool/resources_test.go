package pool

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

type conn struct {
	id     int
	closed atomic.Bool
	dirty  bool
}

type factory struct {
	n      atomic.Int64
	closed atomic.Int64
	fail   atomic.Bool
}

func (f *factory) new(context.Context) (*conn, error) {
	if f.fail.Load() {
		return nil, errors.New("dial failed")
	}
	return &conn{id: int(f.n.Add(1))}, nil
}

func (f *factory) close(c *conn) { c.closed.Store(true); f.closed.Add(1) }

// newTestResources returns a pool over a counting factory. Tests that move
// time run inside synctest.Test and sleep: the pool reads the bubble's fake
// clock.
func newTestResources(t *testing.T, cfg ResourcesConfig[*conn]) (*Resources[*conn], *factory) {
	t.Helper()
	f := &factory{}
	cfg.New, cfg.Close = f.new, f.close
	if cfg.MaintenanceInterval == 0 {
		cfg.MaintenanceInterval = 24 * time.Hour // tests call maintain themselves
	}
	p, err := newResources(cfg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, f
}

func TestResourcesReuse(t *testing.T) {
	p, f := newTestResources(t, ResourcesConfig[*conn]{MaxSize: 2})
	ctx := context.Background()
	r, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Value()
	r.Release()
	r, err = p.Acquire(ctx)
	if err != nil || r.Value() != first {
		t.Fatalf("second Acquire = %v, %v; want the released resource", r, err)
	}
	r.Release()
	if got := f.n.Load(); got != 1 {
		t.Errorf("built %d resources; want 1", got)
	}
	s := p.Stats()
	if s.Acquires != 2 || s.Total != 1 || s.Idle != 1 || s.MaxSize != 2 {
		t.Errorf("Stats() = %+v", s)
	}
}

func TestResourcesAcquireTimeoutAndClose(t *testing.T) {
	synctest.Test(t, testResourcesAcquireTimeoutAndClose)
}

func testResourcesAcquireTimeoutAndClose(t *testing.T) {
	p, f := newTestResources(t, ResourcesConfig[*conn]{MaxSize: 1, AcquireTimeout: 20 * time.Millisecond})
	ctx := context.Background()
	r, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Acquire(ctx); !errors.Is(err, ErrAcquireTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire on a full pool = %v; want ErrAcquireTimeout", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Acquire(cctx); !errors.Is(err, context.Canceled) || errors.Is(err, ErrAcquireTimeout) {
		t.Fatalf("Acquire with cancelled ctx = %v; want context.Canceled", err)
	}
	// Close waits for the resource in use.
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	synctest.Wait() // Close is blocked, not merely slow
	select {
	case <-closed:
		t.Fatal("Close returned while a resource was in use")
	default:
	}
	r.Release()
	<-closed
	if f.closed.Load() != 1 || !r.Value().closed.Load() {
		t.Errorf("closed %d resources; want 1", f.closed.Load())
	}
	if _, err := p.Acquire(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close = %v; want ErrClosed", err)
	}
	p.Close() // idempotent
}

func TestResourcesLifetimeIdleUses(t *testing.T) {
	tests := []struct {
		name      string
		cfg       ResourcesConfig[*conn]
		advance   time.Duration
		wantFresh bool
	}{
		{"within limits", ResourcesConfig[*conn]{MaxLifetime: time.Hour, MaxIdleTime: time.Minute, MaxUses: 5}, 30 * time.Second, false},
		{"idle too long", ResourcesConfig[*conn]{MaxIdleTime: time.Minute}, 2 * time.Minute, true},
		{"too old", ResourcesConfig[*conn]{MaxLifetime: time.Minute}, 2 * time.Minute, true},
		{"used up", ResourcesConfig[*conn]{MaxUses: 1}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, _ := newTestResources(t, tt.cfg)
				ctx := context.Background()
				r, err := p.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				first := r.Value()
				r.Release()
				time.Sleep(tt.advance)
				r, err = p.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Release()
				if fresh := r.Value() != first; fresh != tt.wantFresh {
					t.Errorf("fresh resource = %v; want %v", fresh, tt.wantFresh)
				}
				if tt.wantFresh && !first.closed.Load() {
					t.Error("expired resource was not closed")
				}
			})
		})
	}
}

func TestResourcesExpiresWhileAcquired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f := newTestResources(t, ResourcesConfig[*conn]{MaxLifetime: time.Minute})
		r, _ := p.Acquire(context.Background())
		time.Sleep(time.Hour)
		r.Release()
		if f.closed.Load() != 1 || p.Stats().Destroyed != 1 {
			t.Errorf("released an expired resource: closed = %d, stats = %+v", f.closed.Load(), p.Stats())
		}
	})
}

func TestResourcesResetValidateDestroy(t *testing.T) {
	invalid := atomic.Bool{}
	p, f := newTestResources(t, ResourcesConfig[*conn]{
		Reset: func(c *conn) error {
			if c.dirty {
				return errors.New("cannot reset")
			}
			return nil
		},
		Validate: func(_ context.Context, c *conn) error {
			if invalid.Load() {
				return errors.New("stale")
			}
			return nil
		},
	})
	ctx := context.Background()
	r, _ := p.Acquire(ctx)
	r.Value().dirty = true
	r.Release() // Reset fails: destroyed
	r, _ = p.Acquire(ctx)
	if r.Value().id != 2 {
		t.Fatalf("after failed Reset got resource %d; want a new one", r.Value().id)
	}
	r.Release()
	invalid.Store(true)
	r, _ = p.Acquire(ctx) // Validate fails on id 2: destroyed, id 3 built
	if r.Value().id != 3 {
		t.Fatalf("after failed Validate got resource %d; want 3", r.Value().id)
	}
	r.Destroy()
	if f.closed.Load() != 3 || p.Stats().Destroyed != 3 {
		t.Errorf("closed = %d, stats = %+v; want 3 destroyed", f.closed.Load(), p.Stats())
	}
}

func TestResourcesMinIdleAndMaintain(t *testing.T) {
	synctest.Test(t, testResourcesMinIdleAndMaintain)
}

func testResourcesMinIdleAndMaintain(t *testing.T) {
	p, f := newTestResources(t, ResourcesConfig[*conn]{MinIdle: 2, MaxSize: 3, MaxIdleTime: time.Minute})
	if s := p.Stats(); s.Idle != 2 || f.n.Load() != 2 {
		t.Fatalf("after New: %+v, built %d; want 2 idle", s, f.n.Load())
	}
	time.Sleep(2 * time.Minute)
	p.maintain()
	if s := p.Stats(); s.Idle != 2 || f.closed.Load() != 2 || f.n.Load() != 4 {
		t.Errorf("after maintain: %+v, built %d, closed %d; want 2 replaced", s, f.n.Load(), f.closed.Load())
	}
	p.maintain() // nothing to do
	if f.n.Load() != 4 {
		t.Errorf("maintain rebuilt fresh resources: built %d", f.n.Load())
	}
	f.fail.Store(true)
	time.Sleep(2 * time.Minute)
	p.maintain() // best effort: the failing factory leaves the pool below MinIdle
	if s := p.Stats(); s.Idle != 0 {
		t.Errorf("after failing maintain: %+v", s)
	}
	if _, err := p.Acquire(context.Background()); err == nil || err.Error() != "dial failed" {
		t.Errorf("Acquire with a failing factory = %v; want its error", err)
	}
}

func TestResourcesMaintainLoopStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f := newTestResources(t, ResourcesConfig[*conn]{MaxIdleTime: time.Minute, MaintenanceInterval: time.Second})
		r, _ := p.Acquire(context.Background())
		r.Release()
		time.Sleep(2 * time.Minute) // the loop retires the idle resource
		if f.closed.Load() != 1 {
			t.Errorf("maintenance loop closed %d idle resources; want 1", f.closed.Load())
		}
		p.Close() // synctest.Test fails if the loop's goroutine outlives the bubble
	})
}

func TestNewResourcesInvalid(t *testing.T) {
	nop := func(context.Context) (int, error) { return 0, nil }
	tests := []ResourcesConfig[int]{
		{},
		{New: nop, MaxSize: -1},
		{New: nop, MaxSize: 2, MinIdle: 3},
		{New: nop, MaxUses: -1},
	}
	for i, cfg := range tests {
		if _, err := NewResources(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%d: NewResources(%+v) = %v; want ErrInvalidConfig", i, cfg, err)
		}
	}
	p, err := NewResources(ResourcesConfig[int]{New: nop})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}

func BenchmarkResourcesAcquireRelease(b *testing.B) {
	p, err := NewResources(ResourcesConfig[*conn]{New: (&factory{}).new, MaxSize: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := p.Acquire(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			r.Release()
		}
	})
}
