package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/pool"
	"github.com/covetgo/covet/pool/sqlite"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		url  string
		busy int
	}{
		{"sqlite://" + filepath.Join(dir, "a.db"), 5000},
		{"sqlite:" + filepath.Join(dir, "b.db"), 5000},
		{"file:" + filepath.Join(dir, "c.db") + "?_pragma=busy_timeout(100)", 100},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			db, err := pool.Open(context.Background(), pool.Config{URL: tt.url})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if db.DriverName() != "sqlite" {
				t.Errorf("DriverName() = %q; want sqlite", db.DriverName())
			}
			var mode string
			if err := db.Get(&mode, "PRAGMA journal_mode"); err != nil || mode != "wal" {
				t.Errorf("journal_mode = %q, %v; want wal", mode, err)
			}
			var fk int
			if err := db.Get(&fk, "PRAGMA foreign_keys"); err != nil || fk != 1 {
				t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
			}
			var bt int
			if err := db.Get(&bt, "PRAGMA busy_timeout"); err != nil || bt != tt.busy {
				t.Errorf("busy_timeout = %d, %v; want %d", bt, err, tt.busy)
			}
		})
	}
}

func TestOpenBusyTimeoutAndMemory(t *testing.T) {
	db, err := pool.Open(context.Background(), pool.Config{URL: "sqlite://:memory:", PoolSize: 1, MaxOverflow: -1, BusyTimeout: 250 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	var bt int
	if err := db.Get(&bt, "PRAGMA busy_timeout"); err != nil || bt != 250 {
		t.Errorf("busy_timeout = %d, %v; want 250", bt, err)
	}
	var mode string
	if err := db.Get(&mode, "PRAGMA journal_mode"); err != nil || mode != "memory" {
		t.Errorf("journal_mode = %q, %v; want memory", mode, err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, u := range []string{"sqlite://", "sqlite:", "file:", "sqlite://a.db?%zz"} {
		db, err := pool.Open(context.Background(), pool.Config{URL: u})
		if !errors.Is(err, pool.ErrInvalidConfig) {
			if db != nil {
				db.Close()
			}
			t.Errorf("Open(%q) = %v; want ErrInvalidConfig", u, err)
			continue
		}
		if strings.Contains(err.Error(), "%zz") {
			t.Errorf("Open(%q) error quotes the URL: %v", u, err)
		}
	}
}

func TestDriverOpenDoesNotConnect(t *testing.T) {
	db, name, err := sqlite.Driver{}.Open(pool.Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "missing", "x.db")})
	if err != nil || name != "sqlite" {
		t.Fatalf("Driver.Open = %v, %q; want a handle and sqlite", err, name)
	}
	defer db.Close()
	if err := db.Ping(); err == nil {
		t.Error("Ping of a database in a missing directory = nil; want an error")
	}
}
