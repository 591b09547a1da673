//go:build !unix

package securehdrbench

import "time"

func cpuTime() time.Duration { return 0 }
