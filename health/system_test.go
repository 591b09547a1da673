package health

import (
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestSystemHandler(t *testing.T) {
	clock := newFakeClock()
	var cc ConnCounter
	cc.ConnState(nil, http.StateNew)
	dir := t.TempDir()
	c := mustNew(t, withNow(clock.Now), WithVersion("3.1.0"), WithReleaseID("r7"), WithDiskPath(dir), WithConnCounter(&cc))
	clock.Advance(time.Minute)
	h := c.SystemHandler()
	rec := get(t, h, "/metrics/health")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), dir) {
		t.Fatalf("the body discloses the disk path: %s", rec.Body)
	}
	var info SystemInfo
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
	if again := get(t, h, "/metrics/health"); again.Body.String() != rec.Body.String() {
		t.Fatalf("cached body changed within TTL")
	}
	clock.Advance(time.Second)
	var info2 SystemInfo
	if err := json.Unmarshal(get(t, h, "/metrics/health").Body.Bytes(), &info2); err != nil {
		t.Fatal(err)
	}
	if *info2.ActiveConnections != 2 {
		t.Fatalf("after TTL ActiveConnections = %d; want 2", *info2.ActiveConnections)
	}
}

func TestSystemHandlerConcurrent(t *testing.T) {
	c := mustNew(t)
	h := c.SystemHandler()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if rec := get(t, h, "/metrics/health"); rec.Code != 200 {
				t.Errorf("code %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if info := c.System(t.Context()); info.ActiveConnections != nil || info.DiskPath != "/" {
		t.Fatalf("System() = %+v; want no connection figure and disk path /", info)
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
			t.Errorf("%s: cpuPercent = %v; want %v", tt.name, got, tt.want)
		}
	}
}
