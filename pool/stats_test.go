package pool

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCollectorAndReady(t *testing.T) {
	db, err := Open(context.Background(), Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "s.db"), PoolSize: 2, MaxOverflow: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Collector(db.DB, "main"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "go_sql_max_open_connections" {
			m := mf.GetMetric()[0]
			found = m.GetGauge().GetValue() == 3 && m.GetLabel()[0].GetValue() == "main"
		}
	}
	if !found {
		t.Errorf("go_sql_max_open_connections{db_name=\"main\"} 3 not gathered: %v", mfs)
	}
	if err := ReadyCheck(db, 0)(context.Background()); err != nil {
		t.Errorf("ReadyCheck = %v", err)
	}
}
