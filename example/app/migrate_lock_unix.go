//go:build unix

package app

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"syscall"
	"time"
)

// fileLocker serialises SQLite migration runs across processes with an
// exclusive flock on a file beside the database. The kernel drops the lock
// when its holder dies, so a crashed runner never leaves it stuck.
type fileLocker struct {
	path string
	wait time.Duration
	f    *os.File // held between Lock and Unlock; the provider serialises calls
}

func (l *fileLocker) Lock(ctx context.Context, _ *sql.DB) error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	deadline := time.Now().Add(l.wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.f = f
			return nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			_ = f.Close()
			return fmt.Errorf("migration lock %s: %w", l.path, err)
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return fmt.Errorf("migration lock %s: still held by another runner after %s", l.path, l.wait)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (l *fileLocker) Unlock(context.Context, *sql.DB) error {
	if l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
