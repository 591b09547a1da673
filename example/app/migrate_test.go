package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/covetgo/covet/testenv"
)

var updateSchema = flag.Bool("update-schema", false, "rewrite migrations/schema_*.sql from the migrations (or set UPDATE_SCHEMA=1)")

// migrationDBs are the two databases every migration test runs on; each
// returns the environment OpenMigrator and LoadConfig read.
var migrationDBs = []struct {
	name string
	env  func(t *testing.T) map[string]string
}{
	{"sqlite", func(t *testing.T) map[string]string { return map[string]string{"DATA_DIR": t.TempDir()} }},
	{"postgres", func(t *testing.T) map[string]string {
		return map[string]string{"DATABASE_URL": testenv.PostgresDatabase(t), "DATA_DIR": t.TempDir()}
	}},
}

func openMigrator(t *testing.T, env map[string]string) (*Migrator, *sqlx.DB) {
	t.Helper()
	m, closeDB, err := OpenMigrator(context.Background(), func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatalf("OpenMigrator: %v", err)
	}
	t.Cleanup(func() { _ = closeDB() })
	return m, m.db
}

func mustState(t *testing.T, m *Migrator) SchemaState {
	t.Helper()
	st, err := m.State(context.Background())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return st
}

// TestMigrationsRoundTrip is the migration check CI runs: every migration
// up, all the way down, up again, on both databases; then the schema must
// equal the snapshot kept beside the migrations, so that a migration edited
// without its snapshot (go test -run TestMigrationsRoundTrip -update-schema)
// fails.
func TestMigrationsRoundTrip(t *testing.T) {
	for _, tc := range migrationDBs {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			env := tc.env(t)
			m, db := openMigrator(t, env)
			n := len(m.Migrations())
			if res, err := m.Up(ctx, 0); err != nil || len(res) != n {
				t.Fatalf("Up = %d results, %v; want %d, nil", len(res), err, n)
			}
			if st := mustState(t, m); st.Current != m.Latest() || st.Behind() || st.Ahead() {
				t.Fatalf("after Up: %+v", st)
			}
			if res, err := m.Down(ctx, 0); err != nil || len(res) != n {
				t.Fatalf("Down(0) = %d results, %v; want %d, nil", len(res), err, n)
			}
			if st := mustState(t, m); st.Current != 0 || len(st.Missing) != n {
				t.Fatalf("after Down(0): %+v", st)
			}
			if got := tables(t, m); strings.Join(got, ",") != versionTable {
				t.Fatalf("tables after Down(0) = %v; want only %s", got, versionTable)
			}
			if _, err := m.Up(ctx, 0); err != nil {
				t.Fatalf("Up again: %v", err)
			}
			if res, err := m.Redo(ctx); err != nil || len(res) != 2 {
				t.Fatalf("Redo = %d results, %v; want 2, nil", len(res), err)
			}
			var snapshot, got string
			if m.pg {
				snapshot, got = "migrations/schema_postgres.sql", pgSchema(t, env["DATABASE_URL"])
			} else {
				snapshot, got = "migrations/schema_sqlite.sql", sqliteSchema(t, db)
			}
			compareSnapshot(t, snapshot, got)
		})
	}
}

func tables(t *testing.T, m *Migrator) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
	if m.pg {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
	}
	var out []string
	if err := m.db.Select(&out, q); err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	pgDumpNoise = regexp.MustCompile(`^(--|SET |SELECT pg_catalog\.set_config|\\restrict|\\unrestrict)`)
	blankRuns   = regexp.MustCompile(`\n{3,}`)
)

// pgSchema is pg_dump --schema-only, normalised: comments, session settings
// and the per-dump \restrict key removed, blank runs collapsed.
func pgSchema(t *testing.T, dsn string) string {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		testenv.Unavailable(t, "pg_dump", "PATH", err)
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(bin, "--schema-only", "--no-owner", "--no-privileges", "--dbname="+dsn)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	var b strings.Builder
	for _, line := range strings.Split(out.String(), "\n") {
		if pgDumpNoise.MatchString(line) {
			continue
		}
		b.WriteString(strings.TrimRight(line, " \t"))
		b.WriteByte('\n')
	}
	return strings.TrimSpace(blankRuns.ReplaceAllString(b.String(), "\n\n")) + "\n"
}

// sqliteSchema is every table's and index's SQL, by type and name.
func sqliteSchema(t *testing.T, db *sqlx.DB) string {
	t.Helper()
	var stmts []string
	if err := db.Select(&stmts, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name"); err != nil {
		t.Fatal(err)
	}
	return strings.Join(stmts, ";\n\n") + ";\n"
}

func compareSnapshot(t *testing.T, path, got string) {
	t.Helper()
	if *updateSchema || os.Getenv("UPDATE_SCHEMA") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./example/app -run TestMigrationsRoundTrip -update-schema)", err)
	}
	if string(want) != got {
		t.Fatalf("the schema the migrations build differs from %s; if the change is intended, run\n"+
			"\tgo test ./example/app -run TestMigrationsRoundTrip -update-schema\nand commit the snapshot.\n%s",
			path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only one side has.
func lineDiff(want, got string) string {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		count[l]--
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if count[l] > 0 {
			b.WriteString("- " + l + "\n")
			count[l]--
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if count[l] < 0 {
			b.WriteString("+ " + l + "\n")
			count[l]++
		}
	}
	return b.String()
}

// TestMigrationKeepsData: migration 2 adds last_login_at to users that
// exist, and its Down removes it without touching them.
func TestMigrationKeepsData(t *testing.T) {
	for _, tc := range migrationDBs {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m, db := openMigrator(t, tc.env(t))
			if _, err := m.Up(ctx, 1); err != nil {
				t.Fatal(err)
			}
			users := newUsers(db)
			for _, name := range []string{"ann", "bob", "cyd"} {
				if _, err := users.Create(ctx, newUser{Username: name, Email: name + "@example.com"}, "hash"); err != nil {
					t.Fatal(err)
				}
			}
			if err := users.SetLastLogin(ctx, 1, time.Now()); err == nil {
				t.Fatal("SetLastLogin at version 1 succeeded; want an error (no column)")
			}
			if _, err := m.Up(ctx, 0); err != nil {
				t.Fatal(err)
			}
			var nulls int
			if err := db.Get(&nulls, "SELECT count(*) FROM users WHERE last_login_at IS NULL"); err != nil || nulls != 3 {
				t.Fatalf("users with no last login after up = %d, %v; want 3", nulls, err)
			}
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := users.SetLastLogin(ctx, 2, at); err != nil {
				t.Fatal(err)
			}
			var got time.Time
			if err := db.Get(&got, db.Rebind("SELECT last_login_at FROM users WHERE id = ?"), 2); err != nil || !got.Equal(at) {
				t.Fatalf("last_login_at = %v, %v; want %v", got, err, at)
			}
			if _, err := m.Down(ctx, -1); err != nil {
				t.Fatal(err)
			}
			if n, err := users.Count(ctx); err != nil || n != 3 {
				t.Fatalf("users after down = %d, %v; want 3", n, err)
			}
			u, err := users.Get(ctx, 2)
			if err != nil || u.Username != "bob" {
				t.Fatalf("user 2 after down = %+v, %v", u, err)
			}
		})
	}
}

// TestConcurrentUp starts five runners at once, each with its own pool (as
// five replicas or jobs would): every migration is applied exactly once.
func TestConcurrentUp(t *testing.T) {
	for _, tc := range migrationDBs {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env(t)
			const runners = 5
			ms := make([]*Migrator, runners)
			for i := range ms {
				ms[i], _ = openMigrator(t, env)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			applied := map[int64]int{}
			start := make(chan struct{})
			for _, m := range ms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					res, err := m.Up(context.Background(), 0)
					if err != nil {
						t.Errorf("Up: %v", err)
					}
					mu.Lock()
					for _, r := range res {
						applied[r.Source.Version]++
					}
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			for _, mg := range ms[0].Migrations() {
				if applied[mg.Version] != 1 {
					t.Errorf("version %d applied %d times; want 1", mg.Version, applied[mg.Version])
				}
			}
			var rows []struct {
				Version int64 `db:"version_id"`
				N       int   `db:"n"`
			}
			if err := ms[0].db.Select(&rows, "SELECT version_id, count(*) AS n FROM "+versionTable+" WHERE version_id > 0 GROUP BY version_id"); err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(ms[0].Migrations()) {
				t.Errorf("version rows = %+v; want one per migration", rows)
			}
			for _, r := range rows {
				if r.N != 1 {
					t.Errorf("version %d recorded %d times; want 1", r.Version, r.N)
				}
			}
		})
	}
}

// TestSchemaAtStart covers MIGRATE_ON_START and a database behind or ahead
// of the binary.
func TestSchemaAtStart(t *testing.T) {
	for _, tc := range migrationDBs {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dbenv := tc.env(t)
			m, db := openMigrator(t, dbenv)
			start := func(migrateOnStart string) (*service, error) {
				env := baseEnv(t)
				env["SEED_USERS"] = "5"
				env["MIGRATE_ON_START"] = migrateOnStart
				for k, v := range dbenv {
					env[k] = v
				}
				cfg, err := LoadConfig(func(k string) string { return env[k] })
				if err != nil {
					t.Fatal(err)
				}
				a, err := start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err == nil {
					t.Cleanup(func() { _ = a.Close() })
				}
				return a, err
			}

			// Behind, not migrating: serves, but /ready fails on "schema"
			// naming the missing version.
			if _, err := m.Up(ctx, 1); err != nil {
				t.Fatal(err)
			}
			a, err := start("false")
			if err != nil {
				t.Fatalf("New behind with MIGRATE_ON_START=false: %v", err)
			}
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready/schema", nil))
			body := rec.Body.String()
			if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, "version 2 (users_last_login_at) not applied") {
				t.Fatalf("GET /ready/schema behind = %d %s; want 503 naming version 2", rec.Code, body)
			}
			if err := a.migrator.Check(ctx); !errors.Is(err, ErrSchemaBehind) {
				t.Fatalf("Check behind = %v; want ErrSchemaBehind", err)
			}
			_ = a.Close()

			// MIGRATE_ON_START applies it.
			a, err = start("true")
			if err != nil {
				t.Fatalf("New with MIGRATE_ON_START=true: %v", err)
			}
			if err := a.migrator.Check(ctx); err != nil {
				t.Fatalf("Check after MIGRATE_ON_START = %v; want nil", err)
			}
			rec = httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready/schema", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /ready/schema current = %d %s; want 200", rec.Code, rec.Body)
			}
			// A successful login stamps last_login_at.
			rec = httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(`{"username":"admin","password":"correct horse battery staple"}`))
			req.Header.Set("Content-Type", "application/json")
			a.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("POST /auth/login = %d %s; want 200", rec.Code, rec.Body)
			}
			var stamped int
			if err := db.Get(&stamped, db.Rebind("SELECT count(*) FROM users WHERE username = ? AND last_login_at IS NOT NULL"), "admin"); err != nil || stamped != 1 {
				t.Fatalf("admin rows with last_login_at after login = %d, %v; want 1", stamped, err)
			}
			_ = a.Close()

			// Ahead: a newer release applied version 3, which this binary
			// does not have. Marked compatible: serve; not: refuse.
			if _, err := db.Exec(db.Rebind("INSERT INTO "+versionTable+" (version_id, is_applied) VALUES (?, ?)"), 3, true); err != nil {
				t.Fatal(err)
			}
			setCompat := func(ok bool) {
				if _, err := db.Exec(db.Rebind("INSERT INTO "+compatTable+" (version_id, compatible) VALUES (?, ?) ON CONFLICT (version_id) DO UPDATE SET compatible = excluded.compatible"), 3, ok); err != nil {
					t.Fatal(err)
				}
			}
			setCompat(true)
			a, err = start("true")
			if err != nil {
				t.Fatalf("New ahead across a compatible migration: %v", err)
			}
			if err := a.migrator.Check(ctx); err != nil {
				t.Fatalf("Check ahead, compatible = %v; want nil", err)
			}
			_ = a.Close()
			if st := mustState(t, m); !st.Ahead() || st.Current != 3 || len(st.Incompatible) != 0 {
				t.Fatalf("State ahead, compatible = %+v", st)
			}

			setCompat(false)
			if _, err := start("true"); !errors.Is(err, ErrSchemaAhead) {
				t.Fatalf("New ahead across an incompatible migration = %v; want ErrSchemaAhead", err)
			}
			if _, err := m.Up(ctx, 0); !errors.Is(err, ErrSchemaAhead) {
				t.Fatalf("Up ahead, incompatible = %v; want ErrSchemaAhead", err)
			}
			if _, err := m.Down(ctx, -1); !errors.Is(err, ErrSchemaAhead) {
				t.Fatalf("Down ahead = %v; want ErrSchemaAhead", err)
			}
		})
	}
}

func TestReadMigrations(t *testing.T) {
	for _, dir := range []string{"migrations/postgres", "migrations/sqlite"} {
		ms, err := readMigrations(os.DirFS(dir))
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) < 2 || ms[0].Version != 1 || ms[0].Compatible || !ms[1].Compatible {
			t.Fatalf("%s: %+v", dir, ms)
		}
		if !strings.HasPrefix(ms[1].UpSQL, "ALTER TABLE users ADD COLUMN last_login_at") || strings.Contains(ms[1].UpSQL, "DROP") {
			t.Fatalf("%s: Up of version 2 = %q", dir, ms[1].UpSQL)
		}
	}
	// Both databases have the same versions.
	pg, _ := readMigrations(os.DirFS("migrations/postgres"))
	lite, _ := readMigrations(os.DirFS("migrations/sqlite"))
	if len(pg) != len(lite) {
		t.Fatalf("postgres has %d migrations, sqlite %d; want the same set", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].Version != lite[i].Version || pg[i].Name != lite[i].Name || pg[i].Compatible != lite[i].Compatible {
			t.Errorf("migration %d: postgres %s, sqlite %s; want the same version, name and marker", i, pg[i].File, lite[i].File)
		}
	}
	for _, tc := range []struct{ files map[string]string }{
		{map[string]string{"x_a.sql": "-- +goose Up\n"}},
		{map[string]string{"00001_a.sql": "", "0001_b.sql": ""}},
		{map[string]string{}},
	} {
		dir := t.TempDir()
		for n, c := range tc.files {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := readMigrations(os.DirFS(dir)); err == nil {
			t.Errorf("readMigrations(%v) = nil error; want one", tc.files)
		}
	}
}

func TestSQLitePathOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sqlite:///data/covet.db", "/data/covet.db"},
		{"sqlite://rel/x.db?_pragma=foo", "rel/x.db"},
		{"sqlite:x.db", "x.db"},
		{"file:/a/b.db", "/a/b.db"},
		{"sqlite://:memory:", ""},
		{"postgres://h/db", ""},
	} {
		if got := sqlitePathOf(tc.in); got != tc.want {
			t.Errorf("sqlitePathOf(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestOpenMigratorURLFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "url")
	if err := os.WriteFile(file, []byte("sqlite://"+filepath.Join(dir, "x.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL_FILE": file, "SECRET_KEY_FILE": "/nonexistent"}
	m, db := openMigrator(t, env)
	if _, err := m.Up(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil || db.DriverName() != "sqlite" {
		t.Fatalf("database from DATABASE_URL_FILE: %v", err)
	}
	env = map[string]string{"DATABASE_URL_FILE": filepath.Join(dir, "missing")}
	if _, _, err := OpenMigrator(context.Background(), func(k string) string { return env[k] }, nil); !errors.Is(err, errConfig) {
		t.Fatalf("OpenMigrator with an unreadable DATABASE_URL_FILE = %v; want ErrConfig", err)
	}
}
