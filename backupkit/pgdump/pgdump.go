package pgdump

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/internal/tool"

	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres dump formats.
const (
	// CustomFormat is pg_dump's custom archive (-Fc), restored with
	// pg_restore, which can list and select what it restores. The default.
	CustomFormat = "custom"
	// PlainFormat is plain SQL (-Fp), restored with psql.
	PlainFormat = "plain"
)

// Option configures [NewSource], [NewTarget] and
// [NewScratchDatabase]. An option that only a source or only a target uses
// (its documentation says which) is refused by the other with
// [backupkit.ErrInvalidConfig] rather than ignored.
type Option func(*pgConfig)

type pgConfig struct {
	format     string
	bin        string
	extra      []string
	noOwner    bool
	clean      bool
	jobs       int
	sourceOnly []string // source-only options given, by name
	targetOnly []string // target-only options given, by name
}

// WithFormat chooses [CustomFormat] (default), [PlainFormat] or
// [DirectoryFormat] for a dump. Source only: a restore reads the format
// from the manifest.
func WithFormat(f string) Option {
	return func(c *pgConfig) { c.format = f; c.sourceOnly = append(c.sourceOnly, "WithFormat") }
}

// WithBinDir runs pg_dump, pg_restore and psql from dir instead of $PATH.
func WithBinDir(dir string) Option { return func(c *pgConfig) { c.bin = dir } }

// WithArgs passes extra arguments to pg_dump (for a source) or to
// pg_restore/psql (for a target), for example "--exclude-table=audit_log".
// They come after the package's own, so they win: pg_dump's compression is
// off (--compress=0) because the [Manager]'s pipeline compresses in parallel
// and compressing twice only costs time, and "--compress=6" turns it on.
func WithArgs(args ...string) Option {
	return func(c *pgConfig) { c.extra = append(c.extra, args...) }
}

// WithNoOwner restores without ownership and privilege commands (pg_restore
// --no-owner --no-privileges), for a server whose roles differ from the one
// dumped. Target only; a plain-format dump, restored by psql, carries its
// ownership commands as written.
func WithNoOwner() Option {
	return func(c *pgConfig) { c.noOwner = true; c.targetOnly = append(c.targetOnly, "WithNoOwner") }
}

// WithClean drops existing objects before recreating them (pg_restore
// --clean --if-exists). Target only; plain-format dumps ignore it.
func WithClean() Option {
	return func(c *pgConfig) { c.clean = true; c.targetOnly = append(c.targetOnly, "WithClean") }
}

func newPGConfig(connString string, opts []Option) (*pgConfig, *pgconn.Config, error) {
	c := &pgConfig{format: CustomFormat}
	for _, o := range opts {
		o(c)
	}
	if c.jobs < 0 {
		return nil, nil, fmt.Errorf("%w: %d pg_dump jobs", ErrInvalidConfig, c.jobs)
	}
	if c.jobs > 1 && c.format == CustomFormat {
		c.format = DirectoryFormat // only the directory format dumps in parallel
	}
	switch c.format {
	case CustomFormat, DirectoryFormat:
	case PlainFormat:
		if c.jobs > 1 {
			return nil, nil, fmt.Errorf("%w: the plain format cannot be dumped by %d jobs", ErrInvalidConfig, c.jobs)
		}
	default:
		return nil, nil, fmt.Errorf("%w: unknown postgres format %q", ErrInvalidConfig, c.format)
	}
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: postgres connection string: %w", ErrInvalidConfig, err)
	}
	return c, cfg, nil
}

func (c *pgConfig) tool(name string) string {
	if c.bin == "" {
		return name
	}
	return c.bin + string(os.PathSeparator) + name
}

// connArgs returns the --dbname argument and the environment for a tool. A
// password in a URL moves to PGPASSWORD, so that it does not show in the
// process list.
func connArgs(connString string, cfg *pgconn.Config) (string, []string) {
	env := os.Environ()
	u, err := url.Parse(connString)
	if err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			u.User = url.User(u.User.Username())
			env = append(env, "PGPASSWORD="+pw)
			return u.String(), env
		}
	}
	_ = cfg
	return connString, env
}

// pgSource is what [NewSource] returns.
type pgSource struct {
	conn string
	cfg  *pgconn.Config
	c    *pgConfig
}

var _ backupkit.Source = (*pgSource)(nil)

// ErrInvalidConfig is backupkit's: errors.Is matches it under either name.
var ErrInvalidConfig = backupkit.ErrInvalidConfig

// NewSource returns a source that runs pg_dump on connString (a URL or
// keyword/value string). The dump is the custom format by default, without
// pg_dump's own compression.
//
// The source dumps one database with pg_dump.
func NewSource(connString string, opts ...Option) (backupkit.Source, error) {
	c, cfg, err := newPGConfig(connString, opts)
	if err != nil {
		return nil, err
	}
	if len(c.targetOnly) > 0 {
		return nil, fmt.Errorf("%w: %s applies to a restore target only", ErrInvalidConfig, c.targetOnly[0])
	}
	return &pgSource{conn: connString, cfg: cfg, c: c}, nil
}

// Backup implements [backupkit.Source]. A pg_dump that exits non-zero gives an error
// wrapping [backupkit.ErrSourceFailed] with the end of pg_dump's stderr.
func (s *pgSource) Backup(ctx context.Context, w io.Writer) (backupkit.SourceInfo, error) {
	info := backupkit.SourceInfo{Kind: "postgres", Format: s.c.format, Database: s.cfg.Database, Tool: "pg_dump"}
	// The versions are looked up while the dump runs, not before it.
	versions := make(chan struct{})
	go func() {
		defer close(versions)
		info.ToolVersion = tool.Version(ctx, s.c.tool("pg_dump"))
		info.ServerVersion = serverVersion(ctx, s.cfg)
	}()
	dbname, env := connArgs(s.conn, s.cfg)
	args := []string{"--dbname=" + dbname, "--no-password"}
	var err error
	switch s.c.format {
	case DirectoryFormat:
		err = s.dumpDirectory(ctx, args, env, w)
	case CustomFormat:
		args = append(args, "--format=custom", "--compress=0")
		err = tool.Run(ctx, s.c.tool("pg_dump"), append(args, s.c.extra...), env, nil, w)
	default:
		args = append(args, "--format=plain")
		err = tool.Run(ctx, s.c.tool("pg_dump"), append(args, s.c.extra...), env, nil, w)
	}
	<-versions
	if err != nil {
		return info, fmt.Errorf("%w: %w", backupkit.ErrSourceFailed, err)
	}
	return info, nil
}

// serverVersion asks the server for its version; a failure leaves it empty
// (pg_dump then reports the real problem).
func serverVersion(ctx context.Context, cfg *pgconn.Config) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return ""
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.ParameterStatus("server_version")
}

// pgTarget is what [NewTarget] returns.
type pgTarget struct {
	conn string
	cfg  *pgconn.Config
	c    *pgConfig
}

var _ backupkit.Target = (*pgTarget)(nil)

// NewTarget returns a target restoring into the database connString
// names.
//
// The target restores into an existing database: custom archives with
// pg_restore, plain dumps with psql. Both run as a single transaction and stop
// at the first error, so a failed or refused restore leaves the database as
// it was.
func NewTarget(connString string, opts ...Option) (backupkit.Target, error) {
	c, cfg, err := newPGConfig(connString, opts)
	if err != nil {
		return nil, err
	}
	if len(c.sourceOnly) > 0 {
		return nil, fmt.Errorf("%w: %s applies to a source only", ErrInvalidConfig, c.sourceOnly[0])
	}
	return &pgTarget{conn: connString, cfg: cfg, c: c}, nil
}

// Restore implements [backupkit.Target].
func (t *pgTarget) Restore(ctx context.Context, r io.Reader, m backupkit.Manifest) error {
	if m.Kind != "postgres" {
		return fmt.Errorf("pgdump: %s backup into postgres: %w", m.Kind, backupkit.ErrWrongKind)
	}
	dbname, env := connArgs(t.conn, t.cfg)
	switch m.Format {
	case CustomFormat:
		args := []string{"--dbname=" + dbname, "--no-password", "--exit-on-error", "--single-transaction"}
		if t.c.noOwner {
			args = append(args, "--no-owner", "--no-privileges")
		}
		if t.c.clean {
			args = append(args, "--clean", "--if-exists")
		}
		args = append(args, t.c.extra...)
		return tool.Run(ctx, t.c.tool("pg_restore"), args, env, r, nil)
	case PlainFormat:
		args := []string{"--dbname=" + dbname, "--no-password", "--no-psqlrc", "--quiet",
			"--set=ON_ERROR_STOP=1", "--single-transaction", "--file=-"}
		args = append(args, t.c.extra...)
		return tool.Run(ctx, t.c.tool("psql"), args, env, r, nil)
	case DirectoryFormat:
		return t.restoreDirectory(ctx, r, m, dbname, env)
	}
	return fmt.Errorf("pgdump: postgres format %q: %w", m.Format, backupkit.ErrWrongKind)
}
