package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/covetgo/covet/problem"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
)

// DefaultCacheTTL is how long the handler serves one reading of the figures.
const DefaultCacheTTL = time.Second

// ErrInvalidConfig is matched (errors.Is) by New's error for a bad option.
var ErrInvalidConfig = errors.New("system: invalid configuration")

// Status is pass when every figure was read, warn when some could not be.
type Status string

// Statuses of an [Info].
const (
	StatusPass Status = "pass"
	StatusWarn Status = "warn"
)

// ConnCounter counts the open client connections of an http.Server. Wire it
// with srv.ConnState = counter.ConnState and pass it to WithConnCounter. The
// zero value is ready to use; it is safe for concurrent use.
type ConnCounter struct{ open atomic.Int64 }

// ConnState is an http.Server ConnState hook: a new connection counts until
// it is closed or hijacked.
func (cc *ConnCounter) ConnState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		cc.open.Add(1)
	case http.StateHijacked, http.StateClosed:
		cc.open.Add(-1)
	}
}

// Open returns the number of open connections.
func (cc *ConnCounter) Open() int64 { return cc.open.Load() }

// Option configures New.
type Option func(*config)

type config struct {
	diskPath  string
	conns     *ConnCounter
	connsSet  bool
	version   string
	releaseID string
	ttl       time.Duration
	now       func() time.Time
}

// WithDiskPath sets the directory whose file system is reported (default
// "/"). New fails when it is not a directory.
func WithDiskPath(path string) Option { return func(c *config) { c.diskPath = path } }

// WithConnCounter reports the open connections counted by cc, which must
// not be nil.
func WithConnCounter(cc *ConnCounter) Option {
	return func(c *config) { c.conns, c.connsSet = cc, true }
}

// WithVersion sets the version reported (as health.WithVersion does for the
// probes).
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithReleaseID sets the release ID reported.
func WithReleaseID(id string) Option { return func(c *config) { c.releaseID = id } }

// WithCacheTTL sets how long the handler serves one reading (default
// [DefaultCacheTTL]; 0 reads on every request). It must not be negative.
func WithCacheTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// Info is the body of the handler.
type Info struct {
	// Status is pass, or warn when some figure could not be read (it is
	// then left out).
	Status Status `json:"status"`
	// Version and ReleaseID repeat WithVersion and WithReleaseID.
	Version   string `json:"version,omitempty"`
	ReleaseID string `json:"releaseId,omitempty"`
	// UptimeSeconds is the time since New.
	UptimeSeconds float64 `json:"uptimeSeconds"`
	// Goroutines is runtime.NumGoroutine.
	Goroutines int `json:"goroutines"`
	// CPUPercent is the system-wide CPU use since the previous reading (the
	// first is taken by New).
	CPUPercent *float64 `json:"cpuPercent,omitempty"`
	// MemoryPercent is the share of memory in use; MemoryAvailable the bytes
	// available to new processes without swapping.
	MemoryPercent   *float64 `json:"memoryPercent,omitempty"`
	MemoryAvailable *uint64  `json:"memoryAvailableBytes,omitempty"`
	// DiskPath is the directory reported on; DiskPercent the share of its
	// file system in use; DiskFree its free bytes. DiskPath is left out of
	// the JSON: a path tells a reader about the host's layout, and the
	// operator already knows it.
	DiskPath    string   `json:"-"`
	DiskPercent *float64 `json:"diskPercent,omitempty"`
	DiskFree    *uint64  `json:"diskFreeBytes,omitempty"`
	// ActiveConnections is the open connection count, when WithConnCounter
	// was given.
	ActiveConnections *int64 `json:"activeConnections,omitempty"`
	// Time is when the figures were read.
	Time time.Time `json:"time"`
}

// Handler reads the host's figures and serves them as JSON. Create it with
// New; it is safe for concurrent use.
type Handler struct {
	cfg   config
	start time.Time

	fill    sync.Mutex // one read at a time; others wait for its result
	mu      sync.Mutex
	prevCPU *cpu.TimesStat
	body    []byte
	expires time.Time
}

// New returns a Handler, or an error matching ErrInvalidConfig. It takes
// the first CPU reading, so that the first request has a CPU figure.
func New(opts ...Option) (*Handler, error) {
	cfg := config{diskPath: "/", ttl: DefaultCacheTTL}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.ttl < 0 {
		return nil, fmt.Errorf("%w: negative cache TTL %v", ErrInvalidConfig, cfg.ttl)
	}
	if cfg.connsSet && cfg.conns == nil {
		return nil, fmt.Errorf("%w: WithConnCounter: nil counter", ErrInvalidConfig)
	}
	if fi, err := os.Stat(cfg.diskPath); err != nil {
		return nil, fmt.Errorf("%w: disk path: %w", ErrInvalidConfig, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%w: disk path %q is not a directory", ErrInvalidConfig, cfg.diskPath)
	}
	return &Handler{cfg: cfg, start: cfg.now(), prevCPU: readCPU(context.Background())}, nil
}

func readCPU(ctx context.Context) *cpu.TimesStat {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil || len(ts) == 0 {
		return nil
	}
	return &ts[0]
}

// busy returns the total and busy CPU time of t.
func busy(t *cpu.TimesStat) (total, busy float64) {
	total = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	return total, total - t.Idle - t.Iowait
}

func cpuPercent(prev, cur *cpu.TimesStat) float64 {
	t1, b1 := busy(prev)
	t2, b2 := busy(cur)
	if t2 <= t1 || b2 <= b1 {
		return 0
	}
	return min(100, (b2-b1)/(t2-t1)*100)
}

// Read reads the figures now, bypassing the handler's cache.
func (h *Handler) Read(ctx context.Context) Info {
	now := h.cfg.now()
	info := Info{
		Status:        StatusPass,
		Version:       h.cfg.version,
		ReleaseID:     h.cfg.releaseID,
		UptimeSeconds: now.Sub(h.start).Seconds(),
		Goroutines:    runtime.NumGoroutine(),
		DiskPath:      h.cfg.diskPath,
		Time:          now.UTC(),
	}
	if cur := readCPU(ctx); cur != nil {
		h.mu.Lock()
		if h.prevCPU != nil {
			p := cpuPercent(h.prevCPU, cur)
			info.CPUPercent = &p
		}
		h.prevCPU = cur
		h.mu.Unlock()
	}
	if info.CPUPercent == nil {
		info.Status = StatusWarn
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		info.MemoryPercent, info.MemoryAvailable = &vm.UsedPercent, &vm.Available
	} else {
		info.Status = StatusWarn
	}
	if du, err := disk.UsageWithContext(ctx, h.cfg.diskPath); err == nil {
		info.DiskPercent, info.DiskFree = &du.UsedPercent, &du.Free
	} else {
		info.Status = StatusWarn
	}
	if h.cfg.conns != nil {
		n := h.cfg.conns.Open()
		info.ActiveConnections = &n
	}
	return info
}

var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
	hdrNoSniff = []string{"nosniff"}
)

// ServeHTTP answers GET and HEAD with the figures as JSON, read at most once
// per cache TTL, so a burst of requests costs one read. Other methods get
// 405 with a problem+json body.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = []string{"GET, HEAD"}
		problem.Error(w, http.StatusMethodNotAllowed, "this endpoint answers GET and HEAD only")
		return
	}
	body := h.cached(r.Context())
	hd := w.Header()
	hd["Content-Type"] = hdrJSON
	hd["Cache-Control"] = hdrNoStore
	hd["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (h *Handler) cached(ctx context.Context) []byte {
	h.mu.Lock()
	body, fresh := h.body, h.cfg.now().Before(h.expires)
	h.mu.Unlock()
	if fresh {
		return body
	}
	h.fill.Lock()
	defer h.fill.Unlock()
	h.mu.Lock()
	body, fresh = h.body, h.cfg.now().Before(h.expires)
	h.mu.Unlock()
	if fresh {
		return body
	}
	data, _ := json.Marshal(h.Read(ctx))
	body = append(data, '\n')
	h.mu.Lock()
	h.body, h.expires = body, h.cfg.now().Add(h.cfg.ttl)
	h.mu.Unlock()
	return body
}
