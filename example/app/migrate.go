package app

import (
	"bufio"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The migrations: one ordered set per database, NNNNN_name.sql in goose's
// format, embedded in the binary.
//
//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// compatibleMarker, on a line of its own above "-- +goose Up", marks a
// migration the previous release can keep serving on: it adds, and neither
// removes nor changes, what older code reads and writes (a nullable column, a
// new table, an index). A binary rolled back across only such migrations
// keeps serving; across any other it refuses to start.
const compatibleMarker = "-- +covet compatible"

const (
	versionTable = goose.DefaultTablename // goose_db_version
	// compatTable records which applied versions carry CompatibleMarker, so
	// that an older binary, which does not have their files, can tell.
	compatTable = "schema_compat"
)

// Errors a Migrator returns, for errors.Is.
var (
	// ErrSchemaAhead: the database has migrations this binary does not know
	// and at least one of them is not marked compatible.
	ErrSchemaAhead = errors.New("database schema is ahead of this binary")
	// ErrSchemaBehind: migrations of this binary are not applied yet.
	ErrSchemaBehind = errors.New("database schema is behind this binary")
)

// Migration is one embedded migration.
type Migration struct {
	Version    int64
	Name       string // the file name between the version and ".sql"
	File       string
	Compatible bool   // carries CompatibleMarker
	UpSQL      string // the statements of the Up section, as written
}

func (m Migration) String() string { return fmt.Sprintf("%d (%s)", m.Version, m.Name) }

// SchemaState compares the database's applied versions with the binary's
// migrations.
type SchemaState struct {
	Current int64       // the newest applied version; 0 for none
	Latest  int64       // the binary's newest version
	Missing []Migration // the binary's migrations not applied, in order
	// Unknown lists applied versions this binary has no file for: a newer
	// binary applied them.
	Unknown []int64
	// Incompatible is the part of Unknown not marked compatible.
	Incompatible []int64
}

// Behind reports whether some of the binary's migrations are not applied.
func (s SchemaState) Behind() bool { return len(s.Missing) > 0 }

// Ahead reports whether the database has versions the binary does not know.
func (s SchemaState) Ahead() bool { return len(s.Unknown) > 0 }

// Err says why the binary cannot serve on this schema: ErrSchemaAhead when
// it is ahead across a migration not marked compatible, ErrSchemaBehind
// naming the missing versions, nil otherwise.
func (s SchemaState) Err() error {
	if len(s.Incompatible) > 0 {
		return fmt.Errorf("%w: version %s, applied by a newer release, is not marked compatible; deploy that release again or roll the database back with its `migrate down`",
			ErrSchemaAhead, joinVersions(s.Incompatible))
	}
	if s.Behind() {
		names := make([]string, len(s.Missing))
		for i, m := range s.Missing {
			names[i] = m.String()
		}
		return fmt.Errorf("%w: version %s not applied (database at %d); run `example migrate up`",
			ErrSchemaBehind, strings.Join(names, ", "), s.Current)
	}
	return nil
}

func joinVersions(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ", ")
}

// Migrator applies the embedded migrations to one database. On PostgreSQL
// every change runs under a session advisory lock; on SQLite under an
// exclusive lock on a file beside the database. Concurrent runners (replicas,
// jobs) therefore apply each migration exactly once. Each migration runs in
// its own transaction. Safe for concurrent use.
type Migrator struct {
	db         *sqlx.DB
	pg         bool
	migrations []Migration
	provider   *goose.Provider
}

// newMigrator returns a Migrator for db. lockPath is the SQLite lock file
// (ignored for PostgreSQL; empty for no lock, as for :memory:). log receives
// one line per applied migration; nil discards them.
func newMigrator(db *sqlx.DB, lockPath string, log *slog.Logger) (*Migrator, error) {
	m := &Migrator{db: db, pg: db.DriverName() == "pgx"}
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	} else {
		opts = append(opts, goose.WithLogger(goose.NopLogger()))
	}
	if m.pg {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		// Poll the advisory lock every second for up to ten minutes: a
		// second runner waits for the first instead of failing.
		l, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	} else if lockPath != "" {
		opts = append(opts, goose.WithLocker(&fileLocker{path: lockPath, wait: 10 * time.Minute}))
	}
	fsys, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	if m.migrations, err = readMigrations(fsys); err != nil {
		return nil, err
	}
	if m.provider, err = goose.NewProvider(dialect, db.DB, fsys, opts...); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return m, nil
}

// readMigrations lists the files in version order with their marker and Up
// section.
func readMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migrations: %s is not NNNNN_name.sql", name)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		m := Migration{Version: v, Name: rest, File: name}
		var up strings.Builder
		section := ""
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			line := sc.Text()
			t := strings.TrimSpace(line)
			switch {
			case t == compatibleMarker && section == "":
				m.Compatible = true
			case strings.HasPrefix(t, "-- +goose Up"):
				section = "up"
			case strings.HasPrefix(t, "-- +goose Down"):
				section = "down"
			case section == "up" && !strings.HasPrefix(t, "-- +goose"):
				up.WriteString(line)
				up.WriteByte('\n')
			}
		}
		m.UpSQL = strings.TrimSpace(up.String())
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations: version %d twice (%s, %s)", out[i].Version, out[i-1].File, out[i].File)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("migrations: none embedded")
	}
	return out, nil
}

// Migrations returns the binary's migrations in version order.
func (m *Migrator) Migrations() []Migration { return slices.Clone(m.migrations) }

// Latest returns the binary's newest version.
func (m *Migrator) Latest() int64 { return m.migrations[len(m.migrations)-1].Version }

// State reads the applied versions without changing anything (it creates
// no table, so replicas may call it freely).
func (m *Migrator) State(ctx context.Context) (SchemaState, error) {
	st := SchemaState{Latest: m.Latest()}
	applied, err := m.applied(ctx)
	if err != nil {
		return st, err
	}
	known := map[int64]bool{}
	for _, mg := range m.migrations {
		known[mg.Version] = true
		if !applied[mg.Version] {
			st.Missing = append(st.Missing, mg)
		}
	}
	for v := range applied {
		st.Current = max(st.Current, v)
		if !known[v] {
			st.Unknown = append(st.Unknown, v)
		}
	}
	slices.Sort(st.Unknown)
	if len(st.Unknown) > 0 {
		compatible, err := m.compatibleVersions(ctx)
		if err != nil {
			return st, err
		}
		for _, v := range st.Unknown {
			if !compatible[v] {
				st.Incompatible = append(st.Incompatible, v)
			}
		}
	}
	return st, nil
}

// applied returns the applied versions (version 0, goose's own row, left
// out). Each version's latest row decides, as goose's own history does.
func (m *Migrator) applied(ctx context.Context) (map[int64]bool, error) {
	out := map[int64]bool{}
	ok, err := m.tableExists(ctx, versionTable)
	if err != nil || !ok {
		return out, err
	}
	rows, err := m.db.QueryContext(ctx, "SELECT version_id, is_applied FROM "+versionTable+" ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		var isApplied bool
		if err := rows.Scan(&v, &isApplied); err != nil {
			return nil, err
		}
		if v == 0 {
			continue
		}
		if isApplied {
			out[v] = true
		} else {
			delete(out, v)
		}
	}
	return out, rows.Err()
}

func (m *Migrator) compatibleVersions(ctx context.Context) (map[int64]bool, error) {
	out := map[int64]bool{}
	ok, err := m.tableExists(ctx, compatTable)
	if err != nil || !ok {
		return out, err
	}
	var vs []int64
	if err := m.db.SelectContext(ctx, &vs, "SELECT version_id FROM "+compatTable+" WHERE compatible"); err != nil {
		return nil, fmt.Errorf("read compatibility markers: %w", err)
	}
	for _, v := range vs {
		out[v] = true
	}
	return out, nil
}

func (m *Migrator) tableExists(ctx context.Context, name string) (bool, error) {
	var ok bool
	var err error
	if m.pg {
		err = m.db.GetContext(ctx, &ok, "SELECT to_regclass($1) IS NOT NULL", name)
	} else {
		err = m.db.GetContext(ctx, &ok, "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?", name)
	}
	if err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	return ok, nil
}

// Check is the readiness check named "schema": it fails while the schema is
// behind (naming the missing versions) or ahead across an incompatible
// migration.
func (m *Migrator) Check(ctx context.Context) error {
	st, err := m.State(ctx)
	if err != nil {
		return err
	}
	return st.Err()
}

// Up applies every pending migration, to (and including) version to when
// to > 0. It refuses with ErrSchemaAhead when the database is ahead across
// an incompatible migration.
func (m *Migrator) Up(ctx context.Context, to int64) ([]*goose.MigrationResult, error) {
	st, err := m.State(ctx)
	if err != nil {
		return nil, err
	}
	if len(st.Incompatible) > 0 {
		return nil, st.Err()
	}
	var res []*goose.MigrationResult
	if to > 0 {
		res, err = m.provider.UpTo(ctx, to)
	} else {
		res, err = m.provider.Up(ctx)
	}
	if serr := m.syncCompat(ctx); err == nil {
		err = serr
	}
	return res, err
}

// Down rolls back the newest migration, or every migration above version to
// when to >= 0 (to = 0 empties the schema). Pass to < 0 for one step.
func (m *Migrator) Down(ctx context.Context, to int64) ([]*goose.MigrationResult, error) {
	st, err := m.State(ctx)
	if err != nil {
		return nil, err
	}
	if st.Ahead() {
		return nil, fmt.Errorf("%w: version %s has no file in this binary; roll it back with the release that applied it",
			ErrSchemaAhead, joinVersions(st.Unknown))
	}
	var res []*goose.MigrationResult
	if to < 0 {
		var r *goose.MigrationResult
		if r, err = m.provider.Down(ctx); r != nil {
			res = append(res, r)
		}
	} else {
		res, err = m.provider.DownTo(ctx, to)
	}
	if serr := m.syncCompat(ctx); err == nil {
		err = serr
	}
	return res, err
}

// Redo rolls back the newest applied migration and applies it again.
func (m *Migrator) Redo(ctx context.Context) ([]*goose.MigrationResult, error) {
	down, err := m.Down(ctx, -1)
	if err != nil {
		return down, err
	}
	if len(down) == 0 {
		return nil, errors.New("no migration to redo: none is applied")
	}
	up, err := m.Up(ctx, down[0].Source.Version)
	return append(down, up...), err
}

// Applied returns when each applied version was applied.
func (m *Migrator) Applied(ctx context.Context) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	ok, err := m.tableExists(ctx, versionTable)
	if err != nil || !ok {
		return out, err
	}
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range st {
		if s.State == goose.StateApplied {
			out[s.Source.Version] = s.AppliedAt
		}
	}
	return out, nil
}

// syncCompat records the marker of every applied migration this binary
// knows and forgets versions no longer applied. It is idempotent, so a
// runner that died between a migration and this step is made good by the
// next; until then the version counts as incompatible, the safe side.
func (m *Migrator) syncCompat(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	ok, err := m.tableExists(ctx, compatTable)
	if err != nil || !ok {
		return err
	}
	applied, err := m.applied(ctx)
	if err != nil {
		return err
	}
	tx, err := m.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	upsert := m.db.Rebind("INSERT INTO " + compatTable + " (version_id, compatible) VALUES (?, ?) ON CONFLICT (version_id) DO UPDATE SET compatible = excluded.compatible")
	for _, mg := range m.migrations {
		if !applied[mg.Version] {
			if _, err := tx.ExecContext(ctx, m.db.Rebind("DELETE FROM "+compatTable+" WHERE version_id = ?"), mg.Version); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, upsert, mg.Version, mg.Compatible); err != nil {
			return fmt.Errorf("record compatibility marker: %w", err)
		}
	}
	return tx.Commit()
}

// sqlitePathOf returns the file of a sqlite://, sqlite: or file: URL, or ""
// for an in-memory database.
func sqlitePathOf(u string) string {
	var p string
	switch {
	case strings.HasPrefix(u, "sqlite://"):
		p = strings.TrimPrefix(u, "sqlite://")
	case strings.HasPrefix(u, "sqlite:"):
		p = strings.TrimPrefix(u, "sqlite:")
	case strings.HasPrefix(u, "file:"):
		p = strings.TrimPrefix(u, "file:")
	default:
		return ""
	}
	p, _, _ = strings.Cut(p, "?")
	if p == "" || p == ":memory:" || strings.HasPrefix(p, ":memory:") {
		return ""
	}
	return filepath.Clean(p)
}

// OpenMigrator opens the database the service uses (DATABASE_URL or
// DATABASE_URL_FILE, or the SQLite file under DATA_DIR) with a pool of two connections and returns a
// Migrator for it and the function that closes it. It reads only
// DATABASE_URL, DATA_DIR and the DATABASE_* pool settings, so a migration job
// needs no other secret. getenv is os.Getenv when nil; log as in NewMigrator.
func OpenMigrator(ctx context.Context, getenv func(string) string, log *slog.Logger) (*Migrator, func() error, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	// DATABASE_URL may come from DATABASE_URL_FILE, as for the service; no
	// other secret is read.
	var problems []string
	env := getenv
	getenv = withFiles(func(k string) string {
		if strings.HasSuffix(k, "_FILE") && k != "DATABASE_URL_FILE" {
			return ""
		}
		return env(k)
	}, func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	})
	if len(problems) > 0 {
		return nil, nil, &configError{Problems: problems}
	}
	cfg := &Config{DatabaseURL: strings.TrimSpace(getenv("DATABASE_URL")), DataDir: strings.TrimSpace(getenv("DATA_DIR")), getenv: getenv}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	lookup := func(k string) (string, bool) {
		switch k {
		case "DATABASE_POOL_SIZE":
			return "2", true
		case "DATABASE_MAX_OVERFLOW":
			return "0", true
		}
		v := getenv(k)
		return v, v != ""
	}
	db, sqlitePath, err := openDatabase(ctx, cfg, lookup, nil)
	if err != nil {
		return nil, nil, err
	}
	lockPath := ""
	if sqlitePath != "" {
		lockPath = sqlitePath + ".migrate-lock"
	}
	m, err := newMigrator(db, lockPath, log)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return m, db.Close, nil
}
