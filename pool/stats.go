package pool

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Collector returns a Prometheus collector for db's pool statistics (open,
// in use and idle connections, waits, closes by reason), labelled
// db_name=name. Register it on the caller's registry.
func Collector(db *sql.DB, name string) prometheus.Collector {
	return collectors.NewDBStatsCollector(db, name)
}

// Pinger is what ReadyCheck needs of a database: *sql.DB, *sqlx.DB and
// *sql.Conn have it.
type Pinger interface {
	PingContext(ctx context.Context) error
}

// ReadyCheck returns a readiness check that pings db, giving up after
// timeout (≤ 0: the caller's context only). The error names no address or
// credential. The check is safe for concurrent use.
func ReadyCheck(db Pinger, timeout time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("pool: database not ready: %w", err)
		}
		return nil
	}
}
