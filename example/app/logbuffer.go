package app

import (
	"io"
	"sync"
	"time"
)

// LogBuffer gathers log output in memory and writes it to the destination
// in batches, from a goroutine of its own: every interval, as soon as
// 64 KiB have gathered, and on Close.
//
// A slog handler writes each record while holding its mutex. Written
// straight to a file or pipe, every request's access-log line is a system
// call under that mutex, and on a machine short of CPU the kernel may
// switch the thread out on its way back from the call: every other request
// then queues on the mutex until it runs again (a lock convoy; the load
// test saw 254 requests waiting there during a stall). Through a LogBuffer
// the critical section is a copy in memory. The price: a line reaches the
// destination up to interval later, and a crash that skips Close loses at
// most that much; past 1 MiB not yet written (a destination that cannot
// keep up), writes go through synchronously rather than grow the buffer or
// drop lines.
type LogBuffer struct {
	dst      io.Writer
	interval time.Duration

	mu  sync.Mutex
	buf []byte

	wmu   sync.Mutex // one writer to dst at a time
	spare []byte     // guarded by wmu

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

const (
	logBatch = 64 << 10 // a flush is started when this much has gathered
	logMax   = 1 << 20  // past this, writers write through themselves
)

// NewLogBuffer returns a LogBuffer writing to dst every interval (which
// must be positive) and starts its goroutine; Close stops it.
func NewLogBuffer(dst io.Writer, interval time.Duration) *LogBuffer {
	b := &LogBuffer{dst: dst, interval: interval, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

func (b *LogBuffer) run() {
	defer close(b.done)
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-b.kick:
		case <-b.stop:
			return
		}
		_ = b.Flush()
	}
}

// Write appends p. It never fails: the destination's errors are reported
// by Flush and Close.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if len(b.buf)+len(p) > logMax {
		b.mu.Unlock()
		// The destination is not keeping up: hold this writer back
		// instead of growing without bound or losing lines.
		if err := b.Flush(); err != nil {
			return 0, err
		}
		b.mu.Lock()
	}
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= logBatch
	b.mu.Unlock()
	if full {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Flush writes what has gathered.
func (b *LogBuffer) Flush() error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.Lock()
	out := b.buf
	b.buf = b.spare[:0]
	b.mu.Unlock()
	if len(out) == 0 {
		b.spare = out
		return nil
	}
	_, err := b.dst.Write(out)
	b.spare = out[:0]
	return err
}

// Close stops the goroutine and writes what is left.
func (b *LogBuffer) Close() error {
	b.once.Do(func() { close(b.stop) })
	<-b.done
	return b.Flush()
}
