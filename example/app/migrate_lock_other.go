//go:build !unix

package app

import (
	"context"
	"database/sql"
	"time"
)

// fileLocker is a no-op where flock is missing: run one migrator at a time.
type fileLocker struct {
	path string
	wait time.Duration
}

func (l *fileLocker) Lock(context.Context, *sql.DB) error   { return nil }
func (l *fileLocker) Unlock(context.Context, *sql.DB) error { return nil }
