//go:build unix

package healthbench

import (
	"syscall"
	"time"
)

// cpuTime is the user plus system CPU time used by the process so far. On a
// shared machine it moves much less with other processes' load than the
// wall-clock ns/op does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
