package ratelimitbench

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used. On a shared
// machine wall time per op swings with other load; CPU time per op does much
// less, so the benchmarks report both.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
