package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/puddle/v2"
)

// Errors from Resources.
var (
	// ErrAcquireTimeout: no resource became free within the acquire timeout
	// (the error also wraps context.DeadlineExceeded).
	ErrAcquireTimeout = errors.New("pool: timed out waiting for a resource")
	// ErrClosed: the pool is closed.
	ErrClosed = errors.New("pool: closed")
)

// ResourcesConfig configures a Resources pool. Only New is required; the
// zero value of every other field means the default named on it.
type ResourcesConfig[T any] struct {
	// New builds a resource. It gets a context that is not cancelled when
	// the Acquire that caused it gives up, so a slow build is not wasted.
	New func(ctx context.Context) (T, error)
	// Close releases a destroyed resource, in the goroutine that destroys
	// it (Release, Destroy, Acquire, maintenance or Close). Optional.
	Close func(T)
	// Reset runs on Release to clear per-use state; an error destroys the
	// resource instead of pooling it. Optional.
	Reset func(T) error
	// Validate runs on Acquire for a resource that was used before; an
	// error destroys it and Acquire tries another. Optional.
	Validate func(ctx context.Context, v T) error
	// MaxSize is the most resources that exist at once. Default 8.
	MaxSize int
	// MinIdle resources are kept built and idle (best effort: a failing New
	// is retried at the next maintenance). Default 0.
	MinIdle int
	// MaxLifetime destroys resources older than this. Default: no limit.
	MaxLifetime time.Duration
	// MaxIdleTime destroys resources idle for longer. Default: no limit.
	MaxIdleTime time.Duration
	// MaxUses destroys a resource after this many acquires. Default: no limit.
	MaxUses int
	// AcquireTimeout bounds Acquire's wait for a free resource (the caller's
	// context may end it earlier). Default 30s; negative: context only.
	AcquireTimeout time.Duration
	// MaintenanceInterval is how often idle resources are checked for age
	// and MinIdle topped up, when any of MinIdle, MaxLifetime, MaxIdleTime
	// is set. Default 30s.
	MaintenanceInterval time.Duration
}

// ResourcesStats is a snapshot of a pool's counters.
type ResourcesStats struct {
	MaxSize, Total, Idle, Acquired, Constructing int
	// Acquires counts successful acquires; Waited those that had to wait
	// or build; Canceled those given up by their context or timeout.
	Acquires, Waited, Canceled int64
	// WaitTime is the total time spent in acquires that waited.
	WaitTime time.Duration
	// Destroyed counts resources destroyed by the pool for age, idleness,
	// use count, a failed Validate or Reset, or by the caller.
	Destroyed int64
}

type entry[T any] struct {
	v        T
	created  time.Time
	lastUsed time.Time
	uses     int
	handle   Resource[T] // handed out while acquired, so Acquire does not allocate
	idle     bool        // counted in Resources.idle
}

// Resources is a bounded pool of T built on puddle. It is safe for
// concurrent use. Close it to stop its maintenance and destroy its resources.
type Resources[T any] struct {
	p         *puddle.Pool[*entry[T]]
	cfg       ResourcesConfig[T]
	now       func() time.Time
	destroyed atomic.Int64
	// idle counts resources released to the pool and not taken since. It
	// never over-counts (fill's resources are not counted), so Acquire can
	// take an idle one without building a deadline context first.
	idle      atomic.Int64
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewResources validates cfg and returns a pool. When MinIdle > 0 it builds
// that many resources before returning (errors are ignored: the pool stays
// usable and tries again later), and when MinIdle, MaxLifetime or
// MaxIdleTime is set it starts a maintenance goroutine that Close stops.
func NewResources[T any](cfg ResourcesConfig[T]) (*Resources[T], error) {
	return newResources(cfg, time.Now)
}

func newResources[T any](cfg ResourcesConfig[T], now func() time.Time) (*Resources[T], error) {
	var errs []error
	if cfg.New == nil {
		errs = append(errs, fmt.Errorf("%w: ResourcesConfig.New is nil", ErrInvalidConfig))
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 8
	}
	if cfg.MaxSize < 0 || cfg.MaxSize > 1<<30 {
		errs = append(errs, fmt.Errorf("%w: MaxSize %d out of range", ErrInvalidConfig, cfg.MaxSize))
	}
	if cfg.MinIdle < 0 || cfg.MinIdle > cfg.MaxSize {
		errs = append(errs, fmt.Errorf("%w: MinIdle %d not within 0..MaxSize", ErrInvalidConfig, cfg.MinIdle))
	}
	if cfg.MaxLifetime < 0 || cfg.MaxIdleTime < 0 || cfg.MaxUses < 0 || cfg.MaintenanceInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: negative MaxLifetime, MaxIdleTime, MaxUses or MaintenanceInterval", ErrInvalidConfig))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.AcquireTimeout == 0 {
		cfg.AcquireTimeout = 30 * time.Second
	}
	if cfg.MaintenanceInterval == 0 {
		cfg.MaintenanceInterval = 30 * time.Second
	}
	r := &Resources[T]{cfg: cfg, now: now}
	p, err := puddle.NewPool(&puddle.Config[*entry[T]]{
		MaxSize: int32(cfg.MaxSize),
		Constructor: func(ctx context.Context) (*entry[T], error) {
			v, err := cfg.New(ctx)
			if err != nil {
				return nil, err
			}
			t := r.now()
			return &entry[T]{v: v, created: t, lastUsed: t}, nil
		},
		Destructor: func(e *entry[T]) {
			if cfg.Close != nil {
				cfg.Close(e.v)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	r.p = p
	r.fill(context.Background())
	if cfg.MinIdle > 0 || cfg.MaxLifetime > 0 || cfg.MaxIdleTime > 0 {
		r.stop, r.done = make(chan struct{}), make(chan struct{})
		go r.maintainLoop()
	}
	return r, nil
}

// Resource is an acquired resource. Call exactly one of Release or Destroy;
// the value must not be used afterwards.
type Resource[T any] struct {
	res *puddle.Resource[*entry[T]]
	p   *Resources[T]
}

// Value returns the resource.
func (r *Resource[T]) Value() T { return r.res.Value().v }

// Release returns the resource to the pool after running Reset; it is
// destroyed instead when Reset fails, its use count reached MaxUses or it is
// older than MaxLifetime.
func (r *Resource[T]) Release() {
	p, e := r.p, r.res.Value()
	if p.cfg.Reset != nil {
		if err := p.cfg.Reset(e.v); err != nil {
			r.Destroy()
			return
		}
	}
	now := p.now()
	if p.expired(e, now, false) {
		r.Destroy()
		return
	}
	e.lastUsed = now
	p.markIdle(e)
	r.res.Release()
}

// markIdle counts e as idle; call it just before handing e back to puddle.
func (p *Resources[T]) markIdle(e *entry[T]) {
	e.idle = true
	p.idle.Add(1)
}

// takeIdle uncounts e if it was counted; call it on taking e from puddle.
func (p *Resources[T]) takeIdle(e *entry[T]) {
	if e.idle {
		e.idle = false
		p.idle.Add(-1)
	}
}

// Destroy closes the resource instead of returning it to the pool, for one
// found broken while in use.
func (r *Resource[T]) Destroy() { r.p.destroy(r.res) }

// destroy takes res out of the pool and closes it in the calling goroutine,
// so the pool's counts are right as soon as it returns.
func (p *Resources[T]) destroy(res *puddle.Resource[*entry[T]]) {
	p.destroyed.Add(1)
	v := res.Value().v
	res.Hijack()
	if p.cfg.Close != nil {
		p.cfg.Close(v)
	}
}

func (p *Resources[T]) expired(e *entry[T], now time.Time, idle bool) bool {
	switch {
	case p.cfg.MaxLifetime > 0 && now.Sub(e.created) >= p.cfg.MaxLifetime:
		return true
	case p.cfg.MaxUses > 0 && e.uses >= p.cfg.MaxUses:
		return true
	case idle && p.cfg.MaxIdleTime > 0 && now.Sub(e.lastUsed) >= p.cfg.MaxIdleTime:
		return true
	}
	return false
}

// Acquire returns a free resource, building one if the pool is below
// MaxSize, or waits for one until AcquireTimeout or ctx ends. Idle resources
// past their lifetime or idle time, or failing Validate, are destroyed and
// skipped. Errors: ErrAcquireTimeout, ErrClosed, ctx's error, or New's error.
func (p *Resources[T]) Acquire(ctx context.Context) (*Resource[T], error) {
	// An idle resource needs no deadline: try that first, and only build
	// the timeout context when the caller has to wait.
	for p.idle.Load() > 0 {
		// Background: when this loses a race and the pool has room, puddle
		// builds a resource in the background, which must not die with ctx.
		res, err := p.p.TryAcquire(context.Background())
		if err != nil {
			break
		}
		if r := p.checkout(ctx, res); r != nil {
			return r, nil
		}
	}
	actx := ctx
	if p.cfg.AcquireTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, p.cfg.AcquireTimeout)
		defer cancel()
	}
	for {
		res, err := p.p.Acquire(actx)
		switch {
		case errors.Is(err, puddle.ErrClosedPool):
			return nil, ErrClosed
		case err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded):
			return nil, fmt.Errorf("%w (%s): %w", ErrAcquireTimeout, p.cfg.AcquireTimeout, err)
		case err != nil:
			return nil, err
		}
		if r := p.checkout(actx, res); r != nil {
			return r, nil
		}
	}
}

// checkout hands out res, or destroys it and returns nil when it is past
// its lifetime or idle time or fails Validate.
func (p *Resources[T]) checkout(ctx context.Context, res *puddle.Resource[*entry[T]]) *Resource[T] {
	e := res.Value()
	p.takeIdle(e)
	if p.expired(e, p.now(), true) {
		p.destroy(res)
		return nil
	}
	if e.uses > 0 && p.cfg.Validate != nil {
		if err := p.cfg.Validate(ctx, e.v); err != nil {
			p.destroy(res)
			return nil
		}
	}
	e.uses++
	e.handle = Resource[T]{res: res, p: p}
	return &e.handle
}

// Stats returns a snapshot of the pool's counters.
func (p *Resources[T]) Stats() ResourcesStats {
	s := p.p.Stat()
	return ResourcesStats{
		MaxSize:      int(s.MaxResources()),
		Total:        int(s.TotalResources()),
		Idle:         int(s.IdleResources()),
		Acquired:     int(s.AcquiredResources()),
		Constructing: int(s.ConstructingResources()),
		Acquires:     s.AcquireCount(),
		Waited:       s.EmptyAcquireCount(),
		Canceled:     s.CanceledAcquireCount(),
		WaitTime:     s.EmptyAcquireWaitTime(),
		Destroyed:    p.destroyed.Load(),
	}
}

// Close stops maintenance, refuses further Acquire calls and destroys every
// resource, waiting for those in use to be released or destroyed. It is safe
// to call more than once.
func (p *Resources[T]) Close() {
	p.closeOnce.Do(func() {
		if p.stop != nil {
			close(p.stop)
			<-p.done
		}
		p.p.Close()
	})
}

func (p *Resources[T]) maintainLoop() {
	defer close(p.done)
	t := time.NewTicker(p.cfg.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.maintain()
		}
	}
}

// maintain destroys idle resources past their lifetime or idle time and
// tops the idle count up to MinIdle.
func (p *Resources[T]) maintain() {
	now := p.now()
	for _, res := range p.p.AcquireAllIdle() {
		e := res.Value()
		p.takeIdle(e)
		if p.expired(e, now, true) {
			p.destroy(res)
		} else {
			p.markIdle(e)
			res.ReleaseUnused()
		}
	}
	p.fill(context.Background())
}

func (p *Resources[T]) fill(ctx context.Context) {
	for range p.cfg.MinIdle {
		s := p.p.Stat()
		if int(s.IdleResources()+s.ConstructingResources()) >= p.cfg.MinIdle || s.TotalResources() >= s.MaxResources() {
			return
		}
		if err := p.p.CreateResource(ctx); err != nil {
			return
		}
	}
}
