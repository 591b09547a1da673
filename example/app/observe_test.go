package app

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestBackupAgeCollector(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	var newest time.Time
	var found bool
	var listErr error
	calls := 0
	c := newBackupAgeCollector(func(context.Context) (time.Time, bool, error) {
		calls++
		return newest, found, listErr
	})
	c.now = func() time.Time { return now }
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	value := func() (float64, bool) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if len(mfs) == 0 {
			return 0, false
		}
		return mfs[0].GetMetric()[0].GetGauge().GetValue(), true
	}

	// No backup yet: infinitely old, so the stale-backup alert fires.
	if v, ok := value(); !ok || !math.IsInf(v, 1) {
		t.Fatalf("with no backup: %v, %v; want +Inf", v, ok)
	}
	// Within a minute the listing is not read again.
	newest, found = now.Add(-2*time.Hour), true
	now = now.Add(30 * time.Second)
	if v, _ := value(); !math.IsInf(v, 1) || calls != 1 {
		t.Fatalf("within the minute: %v after %d listings; want the cached +Inf after 1", v, calls)
	}
	now = now.Add(time.Minute)
	if v, _ := value(); v != (2*time.Hour + 90*time.Second).Seconds() {
		t.Fatalf("age = %v; want %v", v, (2*time.Hour + 90*time.Second).Seconds())
	}
	// A store that cannot be listed exports nothing: absent() alerts.
	listErr = errors.New("s3 down")
	now = now.Add(time.Minute)
	if _, ok := value(); ok {
		t.Fatal("a failed listing still exports an age")
	}
}
