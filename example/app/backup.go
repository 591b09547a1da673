package app

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/pgdump"
	"github.com/covetgo/covet/backupkit/s3store"
	"github.com/covetgo/covet/pool"
)

// Backups is the backup side of the service: a backupkit.Manager over
// BACKUP_TARGET and the source and target for the service's database.
type Backups struct {
	cfg *Config
	*backupkit.Manager
}

// NewBackups opens the store BACKUP_TARGET names: a directory (default
// DATA_DIR/backups) or s3://bucket/prefix with S3_ENDPOINT, S3_ACCESS_KEY,
// S3_SECRET_KEY and S3_REGION (S3_INSECURE=true for plain HTTP).
func NewBackups(cfg *Config, progress func(backupkit.Progress)) (*Backups, error) {
	target := cfg.BackupTarget
	if target == "" {
		target = filepath.Join(cfg.DataDir, "backups")
	}
	var store backupkit.Store
	var opts []backupkit.Option
	if strings.HasPrefix(target, "s3://") {
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("BACKUP_TARGET: %q is not s3://bucket/prefix", target)
		}
		endpoint := cfg.getenv("S3_ENDPOINT")
		if endpoint == "" {
			endpoint = "s3.amazonaws.com"
		}
		client, err := minio.New(endpoint, &minio.Options{
			Creds:  credentials.NewStaticV4(cfg.getenv("S3_ACCESS_KEY"), cfg.getenv("S3_SECRET_KEY"), ""),
			Secure: cfg.getenv("S3_INSECURE") != "true",
			Region: cfg.getenv("S3_REGION"),
		})
		if err != nil {
			return nil, fmt.Errorf("S3: %w", err)
		}
		s, err := s3store.New(client, u.Host)
		if err != nil {
			return nil, err
		}
		store = s
		if p := strings.TrimPrefix(u.Path, "/"); p != "" {
			opts = append(opts, backupkit.WithPrefix(p))
		}
	} else {
		s, err := backupkit.NewDirStore(target)
		if err != nil {
			return nil, err
		}
		store = s
	}
	if progress != nil {
		opts = append(opts, backupkit.WithProgress(progress, 200*time.Millisecond))
	}
	m, err := backupkit.New(store, opts...)
	if err != nil {
		return nil, err
	}
	return &Backups{cfg: cfg, Manager: m}, nil
}

func (b *Backups) sqlitePath() string { return filepath.Join(b.cfg.DataDir, "covet.db") }

// BackupDatabase backs up the service's database: pg_dump for PostgreSQL,
// a consistent SQLite snapshot (VACUUM INTO) for the embedded default.
func (b *Backups) BackupDatabase(ctx context.Context) (backupkit.Manifest, error) {
	if b.cfg.DatabaseURL != "" && !strings.HasPrefix(b.cfg.DatabaseURL, "sqlite") && !strings.HasPrefix(b.cfg.DatabaseURL, "file:") {
		src, err := pgdump.NewSource(b.cfg.DatabaseURL)
		if err != nil {
			return backupkit.Manifest{}, err
		}
		return b.Backup(ctx, src)
	}
	// VACUUM INTO writes a consistent copy while the service runs.
	snap := b.sqlitePath() + ".snapshot"
	_ = os.Remove(snap)
	defer os.Remove(snap)
	db, err := pool.Open(ctx, pool.Config{URL: "sqlite://" + mustAbs(b.sqlitePath()), SkipPrePing: true})
	if err != nil {
		return backupkit.Manifest{}, err
	}
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", snap)
	_ = db.Close()
	if err != nil {
		return backupkit.Manifest{}, fmt.Errorf("sqlite snapshot: %w", err)
	}
	f, err := os.Open(snap)
	if err != nil {
		return backupkit.Manifest{}, err
	}
	defer f.Close()
	return b.Backup(ctx, backupkit.NewReaderSource(f, "sqlite"))
}

// RestoreDatabase restores backup id (latest when empty) into the service's
// database. For PostgreSQL the restore is first applied to a scratch
// database and checked to hold a users table; SQLite's file is replaced, so
// the service must be stopped.
func (b *Backups) RestoreDatabase(ctx context.Context, id string) (backupkit.Manifest, error) {
	if b.cfg.DatabaseURL != "" && !strings.HasPrefix(b.cfg.DatabaseURL, "sqlite") && !strings.HasPrefix(b.cfg.DatabaseURL, "file:") {
		dst, err := pgdump.NewTarget(b.cfg.DatabaseURL, pgdump.WithClean(), pgdump.WithNoOwner())
		if err != nil {
			return backupkit.Manifest{}, err
		}
		scratch, err := pgdump.NewScratchDatabase(ctx, b.cfg.DatabaseURL, pgdump.WithNoOwner())
		if err != nil {
			return backupkit.Manifest{}, err
		}
		defer func() { _ = scratch.Drop(context.WithoutCancel(ctx)) }()
		return b.RestoreChecked(ctx, id, scratch.Target, func(ctx context.Context) error {
			return checkUsersTable(ctx, scratch.URL)
		}, dst)
	}
	// Set the current database aside (with its WAL files) so the restore
	// writes a fresh file; put it back if the restore fails.
	path := b.sqlitePath()
	aside := path + ".pre-restore-" + time.Now().UTC().Format("20060102T150405")
	var moved []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+suffix, aside+suffix); err == nil {
			moved = append(moved, suffix)
		} else if !os.IsNotExist(err) {
			return backupkit.Manifest{}, err
		}
	}
	undo := func() {
		for _, suffix := range moved {
			_ = os.Rename(aside+suffix, path+suffix)
		}
	}
	dst, err := backupkit.NewFileTarget(path, 0o600)
	if err != nil {
		undo()
		return backupkit.Manifest{}, err
	}
	m, err := b.Restore(ctx, id, dst)
	if err != nil {
		_ = os.Remove(path)
		undo()
	}
	return m, err
}

func checkUsersTable(ctx context.Context, url string) error {
	db, err := pool.Open(ctx, pool.Config{URL: url, PoolSize: 1, MaxOverflow: -1})
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	if err := sqlx.GetContext(ctx, db, &n, "SELECT count(*) FROM users"); err != nil {
		return fmt.Errorf("restored database has no readable users table: %w", err)
	}
	return nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
