// Package quiet tells whether the machine is quiet enough to measure on: the
// load average, and the CPU time spent by processes other than the ones being
// measured (from /proc/stat), so that a benchmark round can be refused or
// re-run when something else was competing for the cores.
package quiet

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LoadAvg returns the 1, 5 and 15 minute load averages, or zeros where
// /proc/loadavg cannot be read.
func LoadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

// FormatLoad prints a load average triple as "0.41 0.80 1.20".
func FormatLoad(l [3]float64) string { return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2]) }

// Cores is the number of CPUs the load average is compared with.
func Cores() int { return runtime.NumCPU() }

// Busy is the CPU time every process on the machine has used since boot
// (user, nice, system, irq, softirq and steal from /proc/stat). Steal counts:
// it is time another tenant of the host took from this machine.
func Busy() time.Duration {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	var ticks int64
	for i, v := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// SelfCPU is the user+system time used by this process and the children it
// has waited for.
func SelfCPU() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano())
}

// Window measures one stretch of work: call Start, do the work (waiting for
// every child process), then Stop.
type Window struct {
	// Mine names processes whose CPU time counts as part of the work (see
	// ProcCPU), such as the database server a benchmark queries.
	Mine                  []string
	LoadBefore, LoadAfter [3]float64
	busy0, own0           time.Duration
	t0                    time.Time
	Wall                  time.Duration
	// Foreign is the average number of cores other processes kept busy
	// during the window: all CPU time on the machine minus this process's,
	// its waited-for children's and Mine's. Accurate to /proc/stat's 10 ms
	// ticks; a process of Mine that exits during the window takes its CPU
	// time with it and shows as foreign.
	Foreign float64
}

// Start opens the window.
func (w *Window) Start() {
	w.LoadBefore = LoadAvg()
	w.busy0, w.own0, w.t0 = Busy(), SelfCPU()+ProcCPU(w.Mine...), time.Now()
}

// Stop closes the window.
func (w *Window) Stop() {
	w.Wall = time.Since(w.t0)
	busy, own := Busy()-w.busy0, SelfCPU()+ProcCPU(w.Mine...)-w.own0
	w.LoadAfter = LoadAvg()
	if w.Wall > 0 {
		w.Foreign = max(0, float64(busy-own)/float64(w.Wall))
	}
}

// WaitQuiet blocks until the 1-minute load average is at most limit, polling
// every few seconds, for at most maxWait. It reports the last load average
// and whether it got there.
func WaitQuiet(limit float64, maxWait time.Duration, log func(string)) ([3]float64, bool) {
	deadline := time.Now().Add(maxWait)
	for {
		l := LoadAvg()
		if l[0] <= limit {
			return l, true
		}
		if time.Now().After(deadline) {
			return l, false
		}
		if log != nil {
			log(fmt.Sprintf("load average %s > %.0f: waiting", FormatLoad(l), limit))
		}
		time.Sleep(5 * time.Second)
	}
}

// ProcCPU is the user+system CPU time used so far by every running process
// whose command name (/proc/PID/comm) is one of names, and by the children
// it has reaped: servers that do part of the measured work without being
// children of the measuring process (PostgreSQL backends, redis-server, a
// service under load).
func ProcCPU(names ...string) time.Duration {
	if len(names) == 0 {
		return 0
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		open, close := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if open < 0 || close < open {
			continue
		}
		comm := string(b[open+1 : close])
		match := false
		for _, n := range names {
			if comm == n {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		f := strings.Fields(string(b[close+2:]))
		if len(f) < 15 {
			continue
		}
		// Its own time and its reaped children's: a PostgreSQL backend that
		// served one pg_dump and exited during the round is gone from /proc,
		// but the postmaster that reaped it holds its CPU time.
		for _, i := range []int{11, 12, 13, 14} {
			t, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += t
		}
	}
	return time.Duration(ticks) * (time.Second / 100)
}
