// Health wiring: liveness, readiness checks and the system endpoint.

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/covetgo/covet/health"
	"github.com/covetgo/covet/health/system"
	"github.com/shirou/gopsutil/v4/disk"
)

// checkTimeout bounds the database and Redis readiness checks, and
// checkCacheTTL how long a run's results answer probes. A ping takes
// milliseconds; a dependency that stops answering (or answers seconds late)
// shows on /ready within checkCacheTTL + checkTimeout (1.3 s), inside the
// 2 s the README promises even on a busy machine.
const (
	checkTimeout  = 800 * time.Millisecond
	checkCacheTTL = 500 * time.Millisecond
	// tlsWatchInterval is how often the certificate watch runs: an expiry
	// date changes slowly.
	tlsWatchInterval = time.Minute
)

// The checks whose dependency may stall, or whose answer changes slowly,
// run in the background (health.WithBackground): /ready reads their last
// result and never waits for them, so a certificate endpoint that accepts
// the connection and never answers cannot hold a readiness probe past its
// timeoutSeconds (3 s in deployment.yaml; TestReadinessWithinProbeTimeout).
const (
	tlsCheckTimeout   = 5 * time.Second
	diskCheckInterval = 30 * time.Second
	diskCheckTimeout  = 2 * time.Second
	// diskMinFree is the free space under DATA_DIR below which the disk
	// check fails (SQLite, local backups and the export's spill need room).
	diskMinFree = 64 << 20
)

func (a *App) setupHealth() error {
	statusGauge, err := healthStatusGauge(a.reg)
	if err != nil {
		return err
	}
	database, err := health.SQLPing(a.db)
	if err != nil {
		return err
	}
	opts := []health.Option{
		health.WithVersion(a.cfg.AppVersion),
		health.WithServiceID(a.cfg.AppName),
		health.WithDescription(a.cfg.AppName + " API"),
		health.WithCacheTTL(checkCacheTTL),
		health.WithCheck("database", database, health.WithComponentType("datastore"), health.WithTimeout(checkTimeout)),
		health.WithCheck("schema", a.migrator.Check, health.WithComponentType("datastore"), health.WithTimeout(checkTimeout)),
		health.WithStatusHook(func(c health.Change) {
			level := slog.LevelWarn
			if c.To == health.StatusPass {
				level = slog.LevelInfo
			}
			a.log.Log(context.Background(), level, "health check changed", "check", c.Check, "from", c.From, "to", c.To, "err", c.Err)
			statusGauge(c)
		}),
	}
	if a.cfg.Production() {
		opts = append(opts, health.WithHiddenOutput())
	}
	if a.rdb != nil {
		rdb := a.rdb
		opts = append(opts, health.WithCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() }, health.WithComponentType("datastore"), health.WithTimeout(checkTimeout)))
	}
	if a.cfg.RedisSecurityURL != "" {
		sec := a.secRDB
		opts = append(opts, health.WithCheck("redis-security", func(ctx context.Context) error { return sec.Ping(ctx).Err() }, health.WithComponentType("datastore"), health.WithTimeout(checkTimeout)))
	}
	if a.cfg.TLSWatchAddr != "" {
		// The public endpoint's certificate, as clients see it: warn
		// TLS_WATCH_WARN before it expires. Not critical: an expired
		// certificate at the edge is no reason to take pods out of service.
		check, err := health.TLSCert(a.cfg.TLSWatchAddr, a.cfg.TLSWatchWarn, nil)
		if err != nil {
			return fmt.Errorf("TLS_WATCH_ADDR: %w", err)
		}
		// In the background: an endpoint that accepts TCP and then stalls
		// holds the check for its whole 5 s timeout, longer than the
		// readinessProbe waits; probes read the last result instead.
		opts = append(opts, health.WithCheck("tls-certificate", check, health.WithCritical(false), health.WithTimeout(tlsCheckTimeout),
			health.WithBackground(tlsWatchInterval)))
	}
	// DATA_DIR writable with room to spare. Not critical: with PostgreSQL
	// the service serves without it; the alert and /ready?verbose show it.
	opts = append(opts, health.WithCheck("disk", dataDirCheck(a.cfg.DataDir, diskMinFree), health.WithCritical(false),
		health.WithTimeout(diskCheckTimeout), health.WithBackground(diskCheckInterval)))
	c, err := health.New(opts...)
	if err != nil {
		return err
	}
	sys, err := system.New(system.WithVersion(a.cfg.AppVersion), system.WithConnCounter(a.conns), system.WithDiskPath(a.cfg.DataDir))
	if err != nil {
		_ = c.Close()
		return err
	}
	a.checker, a.system = c, sys
	a.closers = append(a.closers, c.Close)
	return nil
}

// dataDirCheck fails when dir cannot be written (a volume owned by another
// user, a read-only mount) or has less than minFree bytes free.
func dataDirCheck(dir string, minFree uint64) health.CheckFunc {
	return func(ctx context.Context) error {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("DATA_DIR: %w", err)
		}
		f, err := os.CreateTemp(dir, ".health-*")
		if err != nil {
			return fmt.Errorf("DATA_DIR is not writable: %w", err)
		}
		name := f.Name()
		err = errors.Join(f.Close(), os.Remove(name))
		if err != nil {
			return fmt.Errorf("DATA_DIR: %w", err)
		}
		u, err := disk.UsageWithContext(ctx, filepath.Clean(dir))
		if err != nil {
			return fmt.Errorf("DATA_DIR: %w", err)
		}
		if u.Free < minFree {
			return fmt.Errorf("DATA_DIR has %d MiB free, under %d MiB", u.Free>>20, minFree>>20)
		}
		return nil
	}
}
