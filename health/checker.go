package health

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Status is the health of a check or of the whole service, as named by the
// IETF health check response format.
type Status string

// The three statuses of the IETF health check response format.
const (
	StatusPass Status = "pass"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
)

// Defaults used when the matching option is not given.
const (
	DefaultTimeout  = 2 * time.Second
	DefaultCacheTTL = time.Second
)

// Errors a check result can wrap; branch on them with errors.Is.
var (
	// ErrTimeout: the check did not finish within its timeout.
	ErrTimeout = errors.New("health: check timed out")
	// ErrPanic: the check panicked; the panic was turned into this failure.
	ErrPanic = errors.New("health: check panicked")
	// ErrClosed: the Checker was closed while the check ran.
	ErrClosed = errors.New("health: checker closed")
	// ErrWarn: a check's error that wraps it reports StatusWarn instead of
	// StatusFail, critical or not: something needs attention soon, but the
	// service still works (a certificate close to its expiry).
	ErrWarn = errors.New("health: warning")
	// ErrShuttingDown: readiness was drained before shutdown.
	ErrShuttingDown = errors.New("health: shutting down")
	// ErrInvalidConfig is wrapped by every error a constructor or
	// [Checker.Shutdown] returns for a bad argument or option.
	ErrInvalidConfig = errors.New("health: invalid configuration")
)

// CheckFunc reports the health of one dependency: nil means it passes.
// It must honour ctx: when ctx is done it should return promptly. A CheckFunc
// that ignores ctx is reported as failed at its timeout all the same, but its
// goroutine keeps running until the function returns on its own; until then no
// second copy of that check is started. A call that returns after its timeout
// counts as timed out even when it returns nil: its late result is never
// served as a fresh pass.
type CheckFunc func(ctx context.Context) error

// Result is the outcome of one check in one run.
type Result struct {
	// Name is the check's name as registered.
	Name string
	// Status is StatusPass, StatusFail, or StatusWarn when Err wraps
	// ErrWarn.
	Status Status
	// Critical reports whether a failure fails the whole service (true) or
	// only warns.
	Critical bool
	// ComponentType is the IETF componentType ("component", "datastore", "system").
	ComponentType string
	// Err is nil when the check passed.
	Err error
	// Duration is how long the check took (its timeout when it timed out).
	Duration time.Duration
	// Time is when the check started.
	Time time.Time
	// Age is, for a background check ([WithBackground]), how old its last
	// result was when the report was made (measured from Time); zero for a
	// check called by the report's own run.
	Age time.Duration
}

// Report is the outcome of one run of every check.
type Report struct {
	// Status is StatusFail when a critical check failed, StatusWarn when only
	// non-critical checks failed, StatusPass otherwise.
	Status Status
	// Checks holds one Result per check, in registration order.
	Checks []Result
	// Time is when the run started.
	Time time.Time
}

// Change is passed to the status hook when a check's status changes.
type Change struct {
	// Check is the check's name.
	Check string
	// From is the previous status, empty for a check's first result.
	From Status
	// To is the new status.
	To Status
	// Err is the check's error when To is StatusFail.
	Err error
	// Time is when the run that saw the change started.
	Time time.Time
}

// Option configures a Checker.
type Option func(*config)

// CheckOption configures one check registered with WithCheck.
type CheckOption func(*checkConfig)

type checkConfig struct {
	name     string
	fn       CheckFunc
	timeout  time.Duration
	critical bool
	ctype    string

	background    time.Duration // > 0: called in the background, see WithBackground
	backgroundSet bool
}

type config struct {
	checks      []checkConfig
	ttl         time.Duration
	interval    time.Duration
	version     string
	releaseID   string
	serviceID   string
	description string
	hideOutput  bool
	hook        func(Change)
	hookSet     bool
	ttlSet      bool
	now         func() time.Time
	ticker      func(time.Duration) (<-chan time.Time, func())
	after       func(time.Duration) (<-chan time.Time, func())
}

// WithCheck registers a check. name must be non-empty, unique and made of
// letters, digits, '.', '_' and '-' (it becomes a path segment and a JSON
// key). By default a check is critical, has a 2 s timeout and the IETF
// componentType "component".
func WithCheck(name string, fn CheckFunc, opts ...CheckOption) Option {
	return func(c *config) {
		cc := checkConfig{name: name, fn: fn, timeout: DefaultTimeout, critical: true, ctype: "component"}
		for _, o := range opts {
			o(&cc)
		}
		c.checks = append(c.checks, cc)
	}
}

// WithTimeout sets a check's timeout (default 2 s). It must be positive.
func WithTimeout(d time.Duration) CheckOption { return func(c *checkConfig) { c.timeout = d } }

// WithCritical sets whether a failure of the check fails readiness (true, the
// default) or only turns the status to warn while readiness stays 200.
func WithCritical(critical bool) CheckOption { return func(c *checkConfig) { c.critical = critical } }

// WithComponentType sets the IETF componentType shown for the check
// ("component" by default; "datastore" and "system" are the other usual ones).
func WithComponentType(t string) CheckOption { return func(c *checkConfig) { c.ctype = t } }

// WithCacheTTL sets how long a run's results are served before a probe
// triggers a new run (default 1 s). Zero runs the checks on every probe,
// though concurrent probes still share one run. It must not be negative.
// Probes never trigger runs in background mode, so New fails when it is
// given with [WithInterval].
func WithCacheTTL(d time.Duration) Option { return func(c *config) { c.ttl, c.ttlSet = d, true } }

// WithInterval switches on background mode for the whole Checker: the
// checks run every d from New
// until Close, and probes are answered from the last run without ever
// triggering one (except a probe arriving before the first run has finished,
// which waits for it). d must be positive. A check marked [WithBackground]
// keeps its own interval; the runs read its last result.
func WithInterval(d time.Duration) Option { return func(c *config) { c.interval = d } }

// WithVersion sets the IETF "version" field (the service's public version).
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithReleaseID sets the IETF "releaseId" field (the build or release).
func WithReleaseID(id string) Option { return func(c *config) { c.releaseID = id } }

// WithServiceID sets the IETF "serviceId" field.
func WithServiceID(id string) Option { return func(c *config) { c.serviceID = id } }

// WithDescription sets the IETF "description" field.
func WithDescription(d string) Option { return func(c *config) { c.description = d } }

// WithHiddenOutput hides check error text from HTTP responses: the JSON body
// leaves "output" out and ?verbose says "reason withheld". Use it when the
// endpoints are reachable from outside, since error text can name internal
// hosts. The status hook and Report still see the errors.
func WithHiddenOutput() Option { return func(c *config) { c.hideOutput = true } }

// WithStatusHook sets a function called when a check's status changes
// (including its first result), never on an unchanged probe. It is called
// synchronously, in registration order, before the run's results are served
// (for a background check, by its goroutine before its result is kept):
// keep it fast (log, enqueue an alert). It is never called concurrently with
// itself. A panic in it is recovered and dropped. fn must not be nil.
func WithStatusHook(fn func(Change)) Option {
	return func(c *config) { c.hook, c.hookSet = fn, true }
}

type check struct {
	checkConfig

	mu   sync.Mutex
	exec *execution // the call in progress, if any

	last Status // last status seen; only touched by the running round, or by the background loop

	result atomic.Pointer[Result] // a background check's last result
}

type execution struct {
	expired <-chan struct{}    // the call's context is done (timeout or Close)
	ctxErr  func() error       // the call's context's Err
	cancel  context.CancelFunc // cancels the call's context
	start   time.Time
	done    chan struct{}
	err     error         // set before done is closed
	dur     time.Duration // set before done is closed
}

type round struct {
	done chan struct{}
	snap *snapshot
}

// Checker runs the registered checks and serves their results. Create it
// with New; it is safe for concurrent use.
type Checker struct {
	cfg    config
	checks []*check
	byName map[string]*check
	start  time.Time
	now    func() time.Time

	snap     atomic.Pointer[snapshot]
	draining atomic.Bool

	mu       sync.Mutex
	inflight *round
	closed   bool

	shut    atomic.Bool   // Close has begun: new calls start cancelled
	closing chan struct{} // closed by Close, stops the background loops
	wg      sync.WaitGroup

	hookMu sync.Mutex // the status hook is never called concurrently

	maxTimeout time.Duration // the longest check timeout: how long a run can last

	drainOnly *snapshot // served when draining before any run
}

// New returns a Checker with the given options, or an error naming the first
// invalid one. With WithInterval the background runs start at once; call
// Close to stop them.
func New(opts ...Option) (*Checker, error) {
	cfg := config{ttl: DefaultCacheTTL}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.ticker == nil {
		cfg.ticker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	if cfg.after == nil {
		cfg.after = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTimer(d)
			return t.C, func() { t.Stop() }
		}
	}
	if cfg.ttl < 0 {
		return nil, fmt.Errorf("%w: negative cache TTL %v", ErrInvalidConfig, cfg.ttl)
	}
	if cfg.interval < 0 {
		return nil, fmt.Errorf("%w: negative interval %v", ErrInvalidConfig, cfg.interval)
	}
	if cfg.interval > 0 && cfg.ttlSet {
		return nil, fmt.Errorf("%w: WithCacheTTL does not apply with WithInterval: probes never start runs", ErrInvalidConfig)
	}
	if cfg.hookSet && cfg.hook == nil {
		return nil, fmt.Errorf("%w: WithStatusHook: nil function", ErrInvalidConfig)
	}
	c := &Checker{cfg: cfg, byName: make(map[string]*check, len(cfg.checks)), now: cfg.now}
	for _, cc := range cfg.checks {
		if err := validName(cc.name); err != nil {
			return nil, err
		}
		if cc.fn == nil {
			return nil, fmt.Errorf("%w: check %q: nil function", ErrInvalidConfig, cc.name)
		}
		if cc.timeout <= 0 {
			return nil, fmt.Errorf("%w: check %q: timeout %v must be positive", ErrInvalidConfig, cc.name, cc.timeout)
		}
		if _, dup := c.byName[cc.name]; dup {
			return nil, fmt.Errorf("%w: check %q registered twice", ErrInvalidConfig, cc.name)
		}
		if err := validBackground(cc); err != nil {
			return nil, err
		}
		if cc.background == 0 { // a run never waits for a background check
			c.maxTimeout = max(c.maxTimeout, cc.timeout)
		}
		ch := &check{checkConfig: cc}
		c.checks = append(c.checks, ch)
		c.byName[cc.name] = ch
	}
	c.start = c.now()
	c.closing = make(chan struct{})
	c.drainOnly = c.newSnapshot(Report{Status: StatusPass, Time: c.start}, c.start)
	for _, ch := range c.checks {
		if ch.background > 0 {
			tick, stop := cfg.ticker(ch.background)
			c.wg.Add(1)
			go c.loopBackground(ch, tick, stop)
		}
	}
	if cfg.interval > 0 {
		tick, stop := cfg.ticker(cfg.interval)
		c.wg.Add(1)
		go c.loop(tick, stop)
	}
	return c, nil
}

func validName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty check name", ErrInvalidConfig)
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '.', b == '_', b == '-':
		default:
			return fmt.Errorf("%w: check name %q: only letters, digits, '.', '_' and '-' are allowed", ErrInvalidConfig, name)
		}
	}
	return nil
}

// Close stops background runs, cancels the context of running checks, drains
// readiness and waits for the runs in progress to end. Checks that ignore
// their context are not waited for. Close is idempotent.
func (c *Checker) Close() error {
	c.draining.Store(true)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.shut.Store(true)
	close(c.closing)
	c.mu.Unlock()
	for _, ch := range c.checks {
		ch.mu.Lock()
		if ch.exec != nil {
			ch.exec.cancel()
		}
		ch.mu.Unlock()
	}
	c.wg.Wait()
	return nil
}

func (c *Checker) loop(tick <-chan time.Time, stop func()) {
	defer c.wg.Done()
	defer stop()
	// A run always ends (at the latest at its checks' timeouts, sooner
	// once Close cancels them), so it needs no context of its own.
	_, _ = c.run(context.Background(), true)
	for {
		select {
		case <-c.closing:
			return
		case <-tick:
			_, _ = c.run(context.Background(), true)
		}
	}
}

// Report returns the results of the checks: the cached ones while fresh (or,
// in background mode, the last run's), otherwise those of a new run. Callers
// never queue behind a run: while one is under way, others get the previous
// results, unless those are older than the cache TTL plus the longest check
// timeout (or there are none), in which case they share the run in progress.
// It fails only when ctx is done first, or with ErrClosed after Close when no
// run has finished yet.
func (c *Checker) Report(ctx context.Context) (Report, error) {
	s, err := c.current(ctx)
	if err != nil {
		return Report{}, err
	}
	return s.report, nil
}

// current returns a fresh enough snapshot, running the checks if needed.
func (c *Checker) current(ctx context.Context) (*snapshot, error) {
	s := c.snap.Load()
	if s != nil && (c.cfg.interval > 0 || c.now().Before(s.expires)) {
		return s, nil
	}
	return c.run(ctx, false)
}

// run joins the run in progress or starts one. Unless force is set, a
// snapshot made fresh meanwhile is returned instead.
func (c *Checker) run(ctx context.Context, force bool) (*snapshot, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if s := c.snap.Load(); s != nil {
			return s, nil
		}
		return nil, ErrClosed
	}
	r := c.inflight
	if !force {
		if s := c.snap.Load(); s != nil {
			now := c.now()
			// Fresh, or a run is already under way and the previous
			// results are recent: answer now rather than queue behind it.
			if c.cfg.interval > 0 || now.Before(s.expires) || (r != nil && now.Before(s.expires.Add(c.maxTimeout))) {
				c.mu.Unlock()
				return s, nil
			}
		}
	}
	if r == nil {
		r = &round{done: make(chan struct{})}
		c.inflight = r
		c.wg.Add(1)
		go c.runRound(r)
	}
	c.mu.Unlock()
	select {
	case <-r.done:
		return r.snap, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Checker) runRound(r *round) {
	defer c.wg.Done()
	start := c.now()
	execs := make([]*execution, len(c.checks))
	for i, ch := range c.checks {
		if ch.background == 0 {
			execs[i] = c.begin(ch)
		}
	}
	rep := Report{Checks: make([]Result, len(c.checks)), Time: start}
	for i, ch := range c.checks {
		if ch.background == 0 {
			rep.Checks[i] = c.await(ch, execs[i])
		}
	}
	// Background results are read last, so that they are as recent as
	// the run's own.
	now := c.now()
	for i, ch := range c.checks {
		if ch.background > 0 {
			rep.Checks[i] = c.backgroundResult(ch, now)
		}
	}
	rep.Status = statusOf(rep.Checks)
	for i, ch := range c.checks {
		res := rep.Checks[i]
		if ch.background == 0 && res.Status != ch.last {
			c.notify(Change{Check: ch.name, From: ch.last, To: res.Status, Err: res.Err, Time: start})
			ch.last = res.Status
		}
	}
	s := c.newSnapshot(rep, c.now())
	c.mu.Lock()
	c.snap.Store(s)
	c.inflight = nil
	r.snap = s
	close(r.done)
	c.mu.Unlock()
}

// notify calls the status hook, if any, one call at a time.
func (c *Checker) notify(ch Change) {
	if c.cfg.hook == nil {
		return
	}
	c.hookMu.Lock()
	defer c.hookMu.Unlock()
	callHook(c.cfg.hook, ch)
}

// callHook calls the status hook; a panic in it is dropped so that it can
// neither stop the run from being published nor crash the process.
func callHook(hook func(Change), ch Change) {
	defer func() { _ = recover() }()
	hook(ch)
}

// begin starts ch unless a call of it is still in progress (for instance one
// that ignored its context past the timeout), which is then shared instead.
func (c *Checker) begin(ch *check) *execution {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.exec != nil {
		return ch.exec
	}
	ctx, cancel := context.WithTimeout(context.Background(), ch.timeout)
	e := &execution{expired: ctx.Done(), ctxErr: ctx.Err, cancel: cancel, start: c.now(), done: make(chan struct{})}
	ch.exec = e
	if c.shut.Load() { // Close has already cancelled the calls it saw
		cancel()
	}
	go func() {
		defer cancel()
		err := call(ctx, ch.fn)
		if err == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// It returned after its deadline: a round that shares this
			// call after the timeout must not serve the late pass as
			// fresh; the next round starts the check again.
			err = fmt.Errorf("%w after %v (returned late)", ErrTimeout, ch.timeout)
		}
		e.err = err
		e.dur = c.now().Sub(e.start)
		ch.mu.Lock()
		ch.exec = nil
		ch.mu.Unlock()
		close(e.done)
	}()
	return e
}

func call(ctx context.Context, fn CheckFunc) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, v)
		}
	}()
	return fn(ctx)
}

// await waits for e until its deadline and turns it into a Result.
func (c *Checker) await(ch *check, e *execution) Result {
	select {
	case <-e.done:
	case <-e.expired:
	}
	res := Result{Name: ch.name, Critical: ch.critical, ComponentType: ch.ctype, Time: e.start, Status: StatusPass}
	select {
	case <-e.done:
		res.Err, res.Duration = e.err, e.dur
		if res.Err != nil && !errors.Is(res.Err, ErrTimeout) && !errors.Is(res.Err, ErrClosed) {
			switch {
			case errors.Is(e.ctxErr(), context.DeadlineExceeded):
				res.Err = fmt.Errorf("%w after %v: %w", ErrTimeout, ch.timeout, res.Err)
			case c.shut.Load():
				res.Err = fmt.Errorf("%w: %w", ErrClosed, res.Err)
			}
		}
	default:
		res.Duration = c.now().Sub(e.start)
		if errors.Is(e.ctxErr(), context.DeadlineExceeded) {
			res.Err = fmt.Errorf("%w after %v", ErrTimeout, ch.timeout)
		} else {
			res.Err = ErrClosed
		}
	}
	if res.Err != nil {
		res.Status = StatusFail
		if errors.Is(res.Err, ErrWarn) {
			res.Status = StatusWarn
		}
	}
	return res
}
