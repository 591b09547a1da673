package metrics

import (
	"database/sql"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// RegisterDB registers the connection pool statistics of db on reg under
// the db_name label name, using client_golang's DB stats collector, which
// reads db.Stats() at scrape time. The active connections are
// go_sql_in_use_connections; the pool figures are go_sql_open_connections,
// go_sql_idle_connections, go_sql_max_open_connections,
// go_sql_wait_count_total, go_sql_wait_duration_seconds_total and the
// go_sql_max_*_closed_total counters. Registering the same name twice
// returns an error wrapping [ErrRegister]. sqlx users pass db.DB.
func RegisterDB(reg prometheus.Registerer, db *sql.DB, name string) error {
	switch {
	case typednil.Is(reg):
		return errorf("registerer is nil")
	case db == nil:
		return errorf("database is nil")
	case name == "":
		return errorf("database name is empty")
	}
	if err := reg.Register(collectors.NewDBStatsCollector(db, name)); err != nil {
		return registerError(err)
	}
	return nil
}
