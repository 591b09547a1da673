package backupkit

import (
	"context"
	"fmt"
	"time"
)

// Policy says which backups to keep. A complete backup is kept when any Keep
// rule selects it and it is not older than MaxAge; with no Keep rule set,
// every complete backup within MaxAge is kept. The newest complete backup is
// always kept, whatever the rules say. The zero Policy keeps everything
// complete and removes incomplete backups older than a day.
type Policy struct {
	// KeepLast keeps the newest n complete backups.
	KeepLast int
	// KeepDaily keeps the newest backup of each of the last n days that have
	// one; KeepWeekly and KeepMonthly do the same per ISO week and month.
	KeepDaily   int
	KeepWeekly  int
	KeepMonthly int
	// MaxAge removes backups older than this (0: no limit).
	MaxAge time.Duration
	// IncompleteGrace is how old a backup without its manifest (a crashed or
	// running backup) must be before it is removed. Default 24h.
	IncompleteGrace time.Duration
	// Location is the time zone days, weeks and months are counted in
	// (default UTC).
	Location *time.Location
}

func (p Policy) validate() error {
	if p.KeepLast < 0 || p.KeepDaily < 0 || p.KeepWeekly < 0 || p.KeepMonthly < 0 ||
		p.MaxAge < 0 || p.IncompleteGrace < 0 {
		return fmt.Errorf("%w: retention policy values must not be negative", ErrInvalidConfig)
	}
	return nil
}

// PruneResult lists what a prune kept and removed (or would remove, in a dry
// run), by backup ID, newest first.
type PruneResult struct {
	Kept    []string
	Removed []string
}

// Prune applies p to the backups in the store, as found in its listing (no
// local state). With dryRun it only reports.
func (m *Manager) Prune(ctx context.Context, p Policy, dryRun bool) (PruneResult, error) {
	if err := p.validate(); err != nil {
		return PruneResult{}, err
	}
	es, err := m.entries(ctx)
	if err != nil {
		return PruneResult{}, err
	}
	keep, remove := p.plan(m.now(), es)
	var res PruneResult
	for _, e := range keep {
		res.Kept = append(res.Kept, e.ID)
	}
	for _, e := range remove {
		res.Removed = append(res.Removed, e.ID)
		if dryRun {
			continue
		}
		// The manifest goes first: a backup whose data outlives its
		// manifest is merely incomplete, never wrongly "latest".
		for _, suffix := range []string{manifestSuffix, dataSuffix} {
			for _, n := range e.names {
				if len(n) >= len(suffix) && n[len(n)-len(suffix):] == suffix {
					if err := m.store.Delete(ctx, n); err != nil {
						return res, fmt.Errorf("backupkit: prune %s: %w", e.ID, err)
					}
				}
			}
		}
	}
	return res, nil
}

// plan splits entries (newest first) into those to keep and those to remove.
func (p Policy) plan(now time.Time, es []entry) (keep, remove []entry) {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	grace := p.IncompleteGrace
	if grace == 0 {
		grace = 24 * time.Hour
	}
	anyRule := p.KeepLast > 0 || p.KeepDaily > 0 || p.KeepWeekly > 0 || p.KeepMonthly > 0
	type bucket struct {
		n    int
		last string
		key  func(time.Time) string
	}
	buckets := []*bucket{
		{n: p.KeepDaily, key: func(t time.Time) string { return t.Format("2006-01-02") }},
		{n: p.KeepWeekly, key: func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
		{n: p.KeepMonthly, key: func(t time.Time) string { return t.Format("2006-01") }},
	}
	newest := true
	last := 0
	for _, e := range es {
		if !e.Complete {
			if now.Sub(e.Time) > grace {
				remove = append(remove, e)
			} else {
				keep = append(keep, e)
			}
			continue
		}
		selected := !anyRule
		if last < p.KeepLast {
			last++
			selected = true
		}
		t := e.Time.In(loc)
		for _, b := range buckets {
			if k := b.key(t); b.n > 0 && k != b.last {
				b.last = k
				b.n--
				selected = true
			}
		}
		if p.MaxAge > 0 && now.Sub(e.Time) > p.MaxAge {
			selected = false
		}
		if selected || newest {
			keep = append(keep, e)
		} else {
			remove = append(remove, e)
		}
		newest = false
	}
	return keep, remove
}
