package health

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
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

// WithDiskPath sets the directory whose file system the system information
// handler reports (default "/"). New fails when it is not a directory.
func WithDiskPath(path string) Option { return func(c *config) { c.diskPath = path } }

// WithConnCounter makes the system information handler report the open
// connections counted by cc.
func WithConnCounter(cc *ConnCounter) Option { return func(c *config) { c.conns = cc } }

// SystemInfo is the body of the system information handler.
type SystemInfo struct {
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
	// CPUPercent is the system-wide CPU use since the previous sample (the
	// first sample is taken by New).
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

// sampler reads system figures, at most once per cache TTL.
type sampler struct {
	c *Checker

	fill    sync.Mutex // one read at a time; others wait for its result
	mu      sync.Mutex
	prevCPU *cpu.TimesStat
	body    []byte
	expires time.Time
}

func newSampler(c *Checker) *sampler {
	s := &sampler{c: c}
	s.prevCPU = readCPU(context.Background())
	return s
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

// System reads the system figures now (bypassing the handler's cache).
func (c *Checker) System(ctx context.Context) SystemInfo {
	return c.sys.read(ctx)
}

func (s *sampler) read(ctx context.Context) SystemInfo {
	c := s.c
	now := c.now()
	info := SystemInfo{
		Status:        StatusPass,
		Version:       c.cfg.version,
		ReleaseID:     c.cfg.releaseID,
		UptimeSeconds: now.Sub(c.start).Seconds(),
		Goroutines:    runtime.NumGoroutine(),
		DiskPath:      c.cfg.diskPath,
		Time:          now.UTC(),
	}
	if cur := readCPU(ctx); cur != nil {
		s.mu.Lock()
		if s.prevCPU != nil {
			p := cpuPercent(s.prevCPU, cur)
			info.CPUPercent = &p
		}
		s.prevCPU = cur
		s.mu.Unlock()
	}
	if info.CPUPercent == nil {
		info.Status = StatusWarn
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		info.MemoryPercent, info.MemoryAvailable = &vm.UsedPercent, &vm.Available
	} else {
		info.Status = StatusWarn
	}
	if du, err := disk.UsageWithContext(ctx, c.cfg.diskPath); err == nil {
		info.DiskPercent, info.DiskFree = &du.UsedPercent, &du.Free
	} else {
		info.Status = StatusWarn
	}
	if c.cfg.conns != nil {
		n := c.cfg.conns.Open()
		info.ActiveConnections = &n
	}
	return info
}

// SystemHandler returns the system information handler (typically mounted
// at /metrics/health): CPU %, memory % and available bytes, disk % and free
// bytes for the WithDiskPath directory, goroutines, uptime, version and open
// connections, as JSON. Figures are read through gopsutil at most once per
// cache TTL, so a burst of requests costs one read. It exposes details of the
// host: mount it on an internal address or behind authentication.
// Only GET and HEAD are allowed.
func (c *Checker) SystemHandler() http.Handler { return c.sys }

func (s *sampler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	writeBody(w, hdrJSON, http.StatusOK, s.cached(r.Context()))
}

func (s *sampler) cached(ctx context.Context) []byte {
	s.mu.Lock()
	body, fresh := s.body, s.c.now().Before(s.expires)
	s.mu.Unlock()
	if fresh {
		return body
	}
	s.fill.Lock()
	defer s.fill.Unlock()
	s.mu.Lock()
	body, fresh = s.body, s.c.now().Before(s.expires)
	s.mu.Unlock()
	if fresh {
		return body
	}
	data, _ := json.Marshal(s.read(ctx))
	body = append(data, '\n')
	s.mu.Lock()
	s.body, s.expires = body, s.c.now().Add(s.c.cfg.ttl)
	s.mu.Unlock()
	return body
}
