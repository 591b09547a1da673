package app

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/health"
)

// healthStatusGauge exports each health check's status, one series per
// state (1 for the current one), so alerts can fire on a certificate that
// is about to expire or on a check that fails.
func healthStatusGauge(reg prometheus.Registerer) (func(health.Change), error) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "health_check_status",
		Help: "Status of each health check: 1 for the current status (pass, warn or fail), 0 for the others.",
	}, []string{"check", "status"})
	if err := reg.Register(g); err != nil {
		return nil, err
	}
	return func(c health.Change) {
		for _, s := range []health.Status{health.StatusPass, health.StatusWarn, health.StatusFail} {
			v := 0.0
			if s == c.To {
				v = 1
			}
			g.WithLabelValues(c.Check, string(s)).Set(v)
		}
	}, nil
}

// backupAgeCollector exports the age of the newest complete backup, read
// from the store's listing (at most once a minute, so scrapes never list an
// S3 bucket each time). With no complete backup the age is +Inf, so the
// stale-backup alert fires; while the store cannot be listed (and before it
// ever could) nothing is exported, which the alert catches with absent().
type backupAgeCollector struct {
	list func(ctx context.Context) (time.Time, bool, error)
	desc *prometheus.Desc
	now  func() time.Time

	mu      sync.Mutex
	read    time.Time
	newest  time.Time
	found   bool
	listErr bool
}

func newBackupAgeCollector(list func(ctx context.Context) (time.Time, bool, error)) *backupAgeCollector {
	return &backupAgeCollector{
		list: list,
		now:  time.Now,
		desc: prometheus.NewDesc("backup_newest_age_seconds",
			"Seconds since the newest complete backup in BACKUP_TARGET was taken.", nil, nil),
	}
}

func (c *backupAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *backupAgeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.read.IsZero() || now.Sub(c.read) >= time.Minute {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		newest, found, err := c.list(ctx)
		cancel()
		c.read = now
		if err == nil {
			c.newest, c.found = newest, found
		}
		c.listErr = err != nil
	}
	switch {
	case c.listErr:
	case c.found:
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, now.Sub(c.newest).Seconds())
	default:
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, math.Inf(1))
	}
}

// setupBackupMetric exports the newest backup's age when BACKUP_TARGET can
// be opened; a store that cannot be opened is logged, not fatal: serving
// does not depend on it.
func (a *service) setupBackupMetric() error {
	b, err := NewBackups(a.cfg, nil)
	if err != nil {
		a.log.Warn("backup age metric disabled: the backup store cannot be opened", "err", err)
		return nil
	}
	return a.reg.Register(newBackupAgeCollector(func(ctx context.Context) (time.Time, bool, error) {
		ms, err := b.List(ctx)
		if err != nil || len(ms) == 0 {
			return time.Time{}, false, err
		}
		return ms[0].Time, true, nil
	}))
}
