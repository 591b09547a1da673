package app

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/covetgo/covet/internal/testenv"
	"github.com/covetgo/covet/pool"
)

func TestBackupRestore(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return testenv.PostgresDatabase(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			env := baseEnv(t)
			env["SEED_USERS"] = "40"
			env["DATABASE_URL"] = tc.db(t)
			env["BACKUP_TARGET"] = t.TempDir()
			cfg, err := LoadConfig(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := NewBackups(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := b.BackupDatabase(ctx)
			if err != nil {
				t.Fatalf("BackupDatabase: %v", err)
			}
			countUsers := func() int {
				url := cfg.DatabaseURL
				if url == "" {
					url = "sqlite://" + mustAbs(b.sqlitePath())
				}
				db, err := pool.Open(ctx, pool.Config{URL: url})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var n int
				if err := db.Get(&n, "SELECT count(*) FROM users"); err != nil {
					t.Fatal(err)
				}
				if n == 41 {
					if _, err := db.Exec("DELETE FROM users WHERE id > 10"); err != nil {
						t.Fatal(err)
					}
				}
				return n
			}
			if n := countUsers(); n != 41 {
				t.Fatalf("users before restore = %d; want 41", n)
			}
			if n := countUsers(); n != 10 {
				t.Fatalf("users after delete = %d; want 10", n)
			}
			got, err := b.RestoreDatabase(ctx, "")
			if err != nil {
				t.Fatalf("RestoreDatabase: %v", err)
			}
			if got.ID != m.ID {
				t.Fatalf("restored %s; want %s", got.ID, m.ID)
			}
			if n := countUsers(); n != 41 {
				t.Fatalf("users after restore = %d; want 41", n)
			}
			list, err := b.List(ctx)
			if err != nil || len(list) != 1 {
				t.Fatalf("List = %d backups, %v; want 1", len(list), err)
			}
		})
	}
}
