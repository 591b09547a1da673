package app

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/covetgo/covet/pool"
	"github.com/covetgo/covet/testenv"
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
			a, err := start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
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

// TestRestoreOlderBackupThenMigrate: a backup taken at schema version 1,
// restored under a binary whose schema is newer, leaves the database behind;
// migrate up brings it to the binary's version with the backup's rows.
func TestRestoreOlderBackupThenMigrate(t *testing.T) {
	for _, tc := range migrationDBs {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			env := baseEnv(t)
			env["SEED_USERS"] = "7"
			env["BACKUP_TARGET"] = t.TempDir()
			for k, v := range tc.env(t) {
				env[k] = v
			}
			getenv := func(k string) string { return env[k] }
			cfg, err := LoadConfig(getenv)
			if err != nil {
				t.Fatal(err)
			}
			a, err := start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			m, closeDB, err := OpenMigrator(ctx, getenv, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer closeDB()
			// The older release's schema: version 1.
			if _, err := m.Down(ctx, 1); err != nil {
				t.Fatal(err)
			}
			b, err := NewBackups(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.BackupDatabase(ctx); err != nil {
				t.Fatalf("BackupDatabase: %v", err)
			}
			if _, err := m.Up(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := m.db.Exec("DELETE FROM users"); err != nil {
				t.Fatal(err)
			}
			if pg := cfg.DatabaseURL != ""; !pg {
				// The SQLite file is replaced: let go of it first, as the
				// service must be stopped.
				_ = closeDB()
			}
			if _, err := b.RestoreDatabase(ctx, ""); err != nil {
				t.Fatalf("RestoreDatabase: %v", err)
			}
			m2, close2, err := OpenMigrator(ctx, getenv, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer close2()
			st := mustState(t, m2)
			if st.Current != 1 || !st.Behind() {
				t.Fatalf("after restoring the version 1 backup: %+v; want version 1, behind", st)
			}
			if _, err := m2.Up(ctx, 0); err != nil {
				t.Fatalf("Up after restore: %v", err)
			}
			if st := mustState(t, m2); st.Current != m2.Latest() || st.Behind() {
				t.Fatalf("after Up: %+v", st)
			}
			var n int
			if err := m2.db.Get(&n, "SELECT count(*) FROM users WHERE last_login_at IS NULL"); err != nil || n != 8 {
				t.Fatalf("restored users with the new column = %d, %v; want 8", n, err)
			}
		})
	}
}
