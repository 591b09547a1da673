package pool

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestConnAcquireTimeout(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "a.db"), PoolSize: 1, MaxOverflow: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	held, err := Conn(ctx, db, time.Second)
	if err != nil {
		t.Fatalf("Conn: %v", err)
	}
	_, err = Conn(ctx, db, 20*time.Millisecond)
	if !errors.Is(err, ErrPoolTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Conn on a full pool = %v; want ErrPoolTimeout", err)
	}
	// A caller's own cancellation is not reported as a pool timeout.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Conn(cctx, db, time.Second); errors.Is(err, ErrPoolTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Conn with cancelled ctx = %v; want context.Canceled", err)
	}
	held.Close()
	c, err := Conn(ctx, db, 0)
	if err != nil {
		t.Fatalf("Conn after release: %v", err)
	}
	c.Close()
}
