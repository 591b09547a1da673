package system

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/shirou/gopsutil/v4/cpu"
)

func TestConnCounter(t *testing.T) {
	var cc ConnCounter
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	steps := []struct {
		state http.ConnState
		want  int64
	}{
		{http.StateNew, 1}, {http.StateActive, 1}, {http.StateIdle, 1}, {http.StateNew, 2},
		{http.StateClosed, 1}, {http.StateHijacked, 0},
	}
	for i, s := range steps {
		cc.ConnState(a, s.state)
		if got := cc.Open(); got != s.want {
			t.Fatalf("step %d (%v): Open() = %d; want %d", i, s.state, got, s.want)
		}
	}
}

func TestNewInvalid(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"missing disk path", []Option{WithDiskPath("/no/such/dir/anywhere")}},
		{"disk path is a file", []Option{WithDiskPath("/etc/hostname")}},
		{"negative ttl", []Option{WithCacheTTL(-time.Second)}},
		{"nil conn counter", []Option{WithConnCounter(nil)}},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%s) = %v; want ErrInvalidConfig", tt.name, err)
		}
	}
}

func get(t *testing.T, h http.Handler, method string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/metrics/health", nil))
	return rec
}

func TestHandler(t *testing.T) {
	clk := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var cc ConnCounter
	cc.ConnState(nil, http.StateNew)
	dir := t.TempDir()
	h, err := New(func(c *config) { c.now = clk.Now }, WithVersion("3.1.0"), WithReleaseID("r7"), WithDiskPath(dir), WithConnCounter(&cc))
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	rec := get(t, h, http.MethodGet)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET = %d %v", rec.Code, rec.Header())
	}
	if strings.Contains(rec.Body.String(), dir) {
		t.Fatalf("the body discloses the disk path: %s", rec.Body)
	}
	var info Info
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if info.Version != "3.1.0" || info.ReleaseID != "r7" || info.UptimeSeconds != 60 || info.Goroutines <= 0 {
		t.Fatalf("info = %+v", info)
	}
	if info.ActiveConnections == nil || *info.ActiveConnections != 1 {
		t.Fatalf("ActiveConnections = %v; want 1", info.ActiveConnections)
	}
	if runtime.GOOS == "linux" {
		if info.Status != StatusPass || info.CPUPercent == nil || info.MemoryPercent == nil || info.MemoryAvailable == nil ||
			info.DiskPercent == nil || info.DiskFree == nil {
			t.Fatalf("missing figures: %s", rec.Body)
		}
		if *info.MemoryPercent <= 0 || *info.MemoryPercent > 100 || *info.CPUPercent < 0 || *info.CPUPercent > 100 {
			t.Fatalf("figures out of range: %s", rec.Body)
		}
	}
	// Within the TTL the same body is served, read once.
	cc.ConnState(nil, http.StateNew)
	if again := get(t, h, http.MethodHead); again.Body.String() != rec.Body.String() {
		t.Fatalf("cached body changed within TTL")
	}
	clk.Add(time.Second)
	var info2 Info
	if err := json.Unmarshal(get(t, h, http.MethodGet).Body.Bytes(), &info2); err != nil {
		t.Fatal(err)
	}
	if *info2.ActiveConnections != 2 {
		t.Fatalf("after TTL ActiveConnections = %d; want 2", *info2.ActiveConnections)
	}
}

func TestHandlerMethodNotAllowed(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, h, http.MethodPost)
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("POST = %d %v; want 405 problem with Allow", rec.Code, rec.Header())
	}
}

func TestHandlerConcurrent(t *testing.T) {
	h, err := New(WithCacheTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if rec := get(t, h, http.MethodGet); rec.Code != 200 {
				t.Errorf("code %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if info := h.Read(t.Context()); info.ActiveConnections != nil || info.DiskPath != "/" {
		t.Fatalf("Read() = %+v; want no connection figure and disk path /", info)
	}
}

func TestCPUPercent(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur cpu.TimesStat
		want      float64
	}{
		{"half busy", cpu.TimesStat{User: 10, Idle: 10}, cpu.TimesStat{User: 15, Idle: 15}, 50},
		{"idle", cpu.TimesStat{User: 10, Idle: 10}, cpu.TimesStat{User: 10, Idle: 20}, 0},
		{"no time passed", cpu.TimesStat{User: 10, Idle: 10}, cpu.TimesStat{User: 10, Idle: 10}, 0},
		{"iowait is idle", cpu.TimesStat{System: 1}, cpu.TimesStat{System: 2, Iowait: 3}, 25},
	}
	for _, tt := range tests {
		if got := cpuPercent(&tt.prev, &tt.cur); got != tt.want {
			t.Errorf("%s: cpuPercent(%v, %v) = %v; want %v", tt.name, tt.prev, tt.cur, got, tt.want)
		}
	}
}
