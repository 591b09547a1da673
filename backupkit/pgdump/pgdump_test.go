package pgdump

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/covetgo/covet/backupkit"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/covetgo/covet/testenv"
)

func openDB(t testing.TB, u string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// seed fills a fresh database with a few related tables.
func seed(t testing.TB, u string) {
	t.Helper()
	db := openDB(t, u)
	defer db.Close()
	_, err := db.Exec(`
CREATE TABLE users (id bigserial PRIMARY KEY, username text NOT NULL UNIQUE, email text, status text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id), total numeric(12,2), note text);
CREATE TABLE empty_table (id int);
INSERT INTO users (username, email, status, created_at)
  SELECT 'user' || g, 'user' || g || '@example.com', CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END,
         timestamptz '2026-01-01' + g * interval '1 minute'
  FROM generate_series(1, 5000) g;
INSERT INTO orders (user_id, total, note)
  SELECT 1 + g % 5000, (g % 997) * 1.25, CASE WHEN g % 7 = 0 THEN NULL ELSE E'tab\there, quote '' and newline\n' || g END
  FROM generate_series(1, 12000) g;`)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
}

// tableSums returns, per table in schema public, the row count and an md5 of
// its rows in a stable order.
func tableSums(t testing.TB, u string) map[string]string {
	t.Helper()
	db := openDB(t, u)
	defer db.Close()
	var tables []string
	if err := db.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tb := range tables {
		var n int
		var sum *string
		q := fmt.Sprintf(`SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM %q t`, tb)
		if err := db.QueryRowx(q).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		s := ""
		if sum != nil {
			s = *sum
		}
		out[tb] = fmt.Sprintf("%d rows, md5 %s", n, s)
	}
	return out
}

func TestPostgresRoundTrip(t *testing.T) {
	src := testenv.PostgresDatabase(t)
	seed(t, src)
	want := tableSums(t, src)
	if len(want) != 3 {
		t.Fatalf("seeded tables = %v", want)
	}
	stores := map[string]func(t *testing.T) backupkit.Store{
		"dir": func(t *testing.T) backupkit.Store { return newDirStore(t) },
	}
	for storeName, mk := range stores {
		for _, format := range []string{CustomFormat, PlainFormat} {
			for _, comp := range []backupkit.Compression{backupkit.Gzip, backupkit.Zstd} {
				t.Run(storeName+"/"+format+"/"+string(comp), func(t *testing.T) {
					ctx := context.Background()
					m := mustManager(t, mk(t), backupkit.WithCompression(comp))
					ps, err := NewSource(src, WithFormat(format))
					if err != nil {
						t.Fatal(err)
					}
					man, err := m.Backup(ctx, ps)
					if err != nil {
						t.Fatalf("Backup: %v", err)
					}
					if man.Kind != "postgres" || man.Format != format || man.Database == "" ||
						!strings.Contains(man.ToolVersion, "pg_dump") || man.ServerVersion == "" {
						t.Fatalf("manifest = %+v", man)
					}
					dst := testenv.PostgresDatabase(t)
					pt, err := NewTarget(dst)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := m.Restore(ctx, "", pt); err != nil {
						t.Fatalf("Restore: %v", err)
					}
					got := tableSums(t, dst)
					for tb, w := range want {
						if got[tb] != w {
							t.Errorf("table %s: restored %s; want %s", tb, got[tb], w)
						}
					}
					if len(got) != len(want) {
						t.Errorf("restored tables %v; want %v", got, want)
					}
					v, err := m.Verify(ctx, man.ID)
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if format == CustomFormat {
						if !containsLine(v.Contents, "TABLE DATA public users") {
							t.Fatalf("Verify contents lack users data: %q", v.Contents)
						}
					} else if v.Contents != nil {
						t.Fatalf("plain dump listed %v", v.Contents)
					}
				})
			}
		}
	}
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestPostgresFlippedByteAppliesNothing(t *testing.T) {
	ctx := context.Background()
	src := testenv.PostgresDatabase(t)
	seed(t, src)
	s := newDirStore(t)
	m := mustManager(t, s)
	ps, _ := NewSource(src)
	man, err := m.Backup(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, s, man.Object, func(n int64) int64 { return n / 2 })
	dst := testenv.PostgresDatabase(t)
	pt, _ := NewTarget(dst)
	if _, err := m.Restore(ctx, man.ID, pt); !errors.Is(err, backupkit.ErrChecksum) {
		t.Fatalf("Restore of a corrupt dump = %v; want backupkit.ErrChecksum", err)
	}
	if got := tableSums(t, dst); len(got) != 0 {
		t.Fatalf("a refused restore created tables: %v", got)
	}
}

func TestPostgresDumpFailure(t *testing.T) {
	ctx := context.Background()
	// The failure under test is the server's "does not exist": it needs a
	// reachable server (skips without one).
	testenv.NewPostgres(t)
	u, err := url.Parse(testenv.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/covet_no_such_database_" + testenv.RandomID(4)
	s := newDirStore(t)
	m := mustManager(t, s)
	ps, err := NewSource(u.String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Backup(ctx, ps)
	if !errors.Is(err, backupkit.ErrSourceFailed) {
		t.Fatalf("Backup of a missing database = %v; want backupkit.ErrSourceFailed", err)
	}
	if !strings.Contains(err.Error(), "pg_dump") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("error %q does not say what failed", err)
	}
	objs, _ := s.List(ctx, "")
	if len(objs) != 0 {
		t.Fatalf("store holds %v after pg_dump failed; want no data and no manifest", objs)
	}
}

func TestPostgresOptions(t *testing.T) {
	tests := []struct {
		name string
		conn string
		opts []Option
		ok   bool // for a source
		tok  bool // for a target
	}{
		{"url", "postgres://u:pw@localhost/db", nil, true, true},
		{"keywords", "host=localhost dbname=db", []Option{WithFormat(PlainFormat)}, true, false},
		{"format", "postgres://localhost/db", []Option{WithFormat("tar")}, false, false},
		{"bad url", "postgres://%zz", nil, false, false},
		{"jobs", "postgres://localhost/db", []Option{WithJobs(4)}, true, true},
		{"directory", "postgres://localhost/db", []Option{WithFormat(DirectoryFormat)}, true, false},
		{"negative jobs", "postgres://localhost/db", []Option{WithJobs(-1)}, false, false},
		{"plain in parallel", "postgres://localhost/db", []Option{WithFormat(PlainFormat), WithJobs(2)}, false, false},
		{"restore options", "postgres://localhost/db", []Option{WithNoOwner(), WithClean(), WithArgs("-v"), WithBinDir("/x")}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSource(tt.conn, tt.opts...)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, backupkit.ErrInvalidConfig)) {
				t.Fatalf("NewSource(%q) = %v; want ok=%v", tt.conn, err, tt.ok)
			}
			_, err = NewTarget(tt.conn, tt.opts...)
			if (err == nil) != tt.tok || (err != nil && !errors.Is(err, backupkit.ErrInvalidConfig)) {
				t.Fatalf("NewTarget(%q) = %v; want ok=%v", tt.conn, err, tt.tok)
			}
		})
	}
	dbname, env := connArgs("postgres://u:s3cret@localhost/db", nil)
	if strings.Contains(dbname, "s3cret") || !containsLine(env, "PGPASSWORD=s3cret") {
		t.Fatalf("connArgs kept the password in the argument: %q", dbname)
	}
	pt, _ := NewTarget("postgres://localhost/db")
	if err := pt.Restore(context.Background(), strings.NewReader(""), backupkit.Manifest{Kind: "redis"}); !errors.Is(err, backupkit.ErrWrongKind) {
		t.Fatalf("Restore of a redis backup into postgres = %v; want backupkit.ErrWrongKind", err)
	}
	if err := pt.Restore(context.Background(), strings.NewReader(""), backupkit.Manifest{Kind: "postgres", Format: "x"}); !errors.Is(err, backupkit.ErrWrongKind) {
		t.Fatalf("Restore of an unknown format = %v; want backupkit.ErrWrongKind", err)
	}
}

func TestPostgresRestoreOptions(t *testing.T) {
	ctx := context.Background()
	src := testenv.PostgresDatabase(t)
	seed(t, src)
	m := mustManager(t, newDirStore(t))
	ps, _ := NewSource(src, WithArgs("--exclude-table=orders"), WithArgs("--compress=1"), WithBinDir(pgBinDir(t)))
	if _, err := m.Backup(ctx, ps); err != nil {
		t.Fatal(err)
	}
	dst := testenv.PostgresDatabase(t)
	pt, _ := NewTarget(dst, WithNoOwner(), WithClean(), WithBinDir(pgBinDir(t)))
	for range 2 { // --clean makes the restore repeatable
		if _, err := m.Restore(ctx, "", pt); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	}
	got := tableSums(t, dst)
	if _, ok := got["orders"]; ok || got["users"] == "" {
		t.Fatalf("restored %v; want users without orders", got)
	}
}

func pgBinDir(t testing.TB) string {
	t.Helper()
	p, err := lookPath("pg_dump")
	if err != nil {
		t.Skip("pg_dump not installed")
	}
	return p
}

// TestPostgresParallelRoundTrip dumps with several jobs (directory format,
// streamed as tar) and restores with several jobs and with one.
func TestPostgresParallelRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := testenv.PostgresDatabase(t)
	seed(t, src)
	want := tableSums(t, src)
	m := mustManager(t, newDirStore(t))
	ps, err := NewSource(src, WithJobs(3))
	if err != nil {
		t.Fatal(err)
	}
	man, err := m.Backup(ctx, ps)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if man.Format != DirectoryFormat || man.Compression != backupkit.Zstd {
		t.Fatalf("manifest format %q, compression %q; want %q, %q", man.Format, man.Compression, DirectoryFormat, backupkit.Zstd)
	}
	for _, jobs := range []int{1, 2} {
		dst := testenv.PostgresDatabase(t)
		pt, err := NewTarget(dst, WithJobs(jobs))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, man.ID, pt); err != nil {
			t.Fatalf("Restore with %d jobs: %v", jobs, err)
		}
		got := tableSums(t, dst)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("restored with %d jobs: %v; want %v", jobs, got, want)
		}
	}
	if _, err := m.Verify(ctx, man.ID); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}
