// The service's stores: the database (PostgreSQL or the embedded SQLite),
// Redis, the schema check and the rate-limit store.

package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/pool"
	_ "github.com/covetgo/covet/pool/sqlite" // the embedded default database
	"github.com/covetgo/covet/ratelimit"
	ratestore "github.com/covetgo/covet/ratelimit/redisstore"
)

// openDatabase opens DATABASE_URL, or the embedded SQLite file under
// DATA_DIR, with the DATABASE_* pool settings. It returns the SQLite file's
// path ("" for PostgreSQL) for the migration lock. tune, when not nil,
// adjusts the pool settings before the pool opens.
func openDatabase(ctx context.Context, cfg *Config, lookup func(string) (string, bool), tune func(*pool.Config)) (*sqlx.DB, string, error) {
	pcfg, err := pool.ConfigFromLookup(lookup)
	if err != nil && cfg.DatabaseURL != "" {
		return nil, "", err
	}
	// The disk check and backups use DATA_DIR whatever the database.
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, "", fmt.Errorf("DATA_DIR: %w", err)
	}
	if cfg.DatabaseURL == "" {
		abs, err := filepath.Abs(filepath.Join(cfg.DataDir, "covet.db"))
		if err != nil {
			return nil, "", err
		}
		// Read the other pool settings with the embedded URL in place.
		pcfg, err = pool.ConfigFromLookup(func(k string) (string, bool) {
			if k == "DATABASE_URL" {
				return "sqlite://" + abs, true
			}
			return lookup(k)
		})
		if err != nil {
			return nil, "", err
		}
	}
	if tune != nil {
		tune(&pcfg)
	}
	db, err := pool.Open(ctx, pcfg)
	if err != nil {
		return nil, "", err
	}
	return db, sqlitePathOf(pcfg.URL), nil
}

func (a *App) openStores(ctx context.Context) error {
	if err := a.openDB(ctx); err != nil {
		return err
	}
	if a.cfg.RedisURL != "" {
		c, err := a.openRedis(ctx, "REDIS_URL", a.cfg.RedisURL)
		if err != nil {
			return err
		}
		if err := a.traceRedis(c); err != nil {
			return err
		}
		a.rdb, a.secRDB = c, c
	}
	if a.cfg.RedisSecurityURL != "" {
		c, err := a.openRedis(ctx, "REDIS_SECURITY_URL", a.cfg.RedisSecurityURL)
		if err != nil {
			return err
		}
		a.secRDB = c
	}
	if a.secRDB != nil && a.cfg.redisPolicyCheck {
		which := "REDIS_URL"
		if a.cfg.RedisSecurityURL != "" {
			which = "REDIS_SECURITY_URL"
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := checkNoEviction(pctx, a.log, a.secRDB, which); err != nil {
			return err
		}
	}
	return nil
}

// openDB opens the database (PostgreSQL at DATABASE_URL, else SQLite
// under DATA_DIR), registers its pool metrics and checks the schema.
func (a *App) openDB(ctx context.Context) error {
	db, sqlitePath, err := openDatabase(ctx, a.cfg, a.lookup, func(pc *pool.Config) {
		if sqlitePathOf(pc.URL) != "" {
			return // the settings below are PostgreSQL's; pool refuses them for SQLite
		}
		if _, set := a.lookup("DATABASE_CANCEL_TIMEOUT"); !set {
			// A request's database work ends DATABASE_QUERY_TIMEOUT after it
			// starts; a server that does not acknowledge the cancellation
			// gets this much longer before the connection is dropped.
			pc.CancelTimeout = cancelTimeout
		}
		if a.tracingOn() {
			pc.QueryTracer = a.pgxTracer()
		}
	})
	if err != nil {
		if a.cfg.DatabaseURL == "" {
			return fmt.Errorf("DATA_DIR: embedded database: %w", err)
		}
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	a.db = db
	a.closers = append(a.closers, a.db.Close)
	if err := metrics.RegisterDB(a.reg, a.db.DB, "main"); err != nil {
		return err
	}
	a.users = NewUsers(a.db)
	a.users.timeout = a.cfg.DatabaseQueryTimeout
	lockPath := ""
	if sqlitePath != "" {
		lockPath = sqlitePath + ".migrate-lock"
	}
	if a.migrator, err = NewMigrator(a.db, lockPath, a.log); err != nil {
		return err
	}
	return a.checkSchema(ctx)
}

// openRedis makes the client for the Redis at url (from the variable
// named env), with the per-request Redis budget. A Redis that does not
// answer is not fatal: every Redis-backed part has an outage policy, the
// client reconnects on its own and /ready names redis until it answers.
func (a *App) openRedis(ctx context.Context, env, url string) (redis.UniversalClient, error) {
	target, err := parseRedisURL(url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	c := target.client()
	c.AddHook(&redisBudget{after: a.cfg.RedisTimeout})
	a.closers = append(a.closers, c.Close)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		a.log.Warn("redis at "+env+" did not answer: serving degraded until it does", "err", err)
	}
	return c, nil
}

// checkSchema applies pending migrations when MIGRATE_ON_START is on,
// refuses a database ahead of the binary across an incompatible migration,
// and says so when it is ahead across compatible ones only.
func (a *App) checkSchema(ctx context.Context) error {
	st, err := a.migrator.State(ctx)
	if err != nil {
		return err
	}
	switch {
	case len(st.Incompatible) > 0:
		return st.Err()
	case st.Ahead():
		a.log.Warn("the database schema is ahead of this binary; serving because the newer migrations are marked compatible",
			"database_version", st.Current, "binary_version", st.Latest, "compatible_versions", joinVersions(st.Unknown))
	case st.Behind() && a.cfg.MigrateOnStart:
		if _, err := a.migrator.Up(ctx, 0); err != nil {
			return fmt.Errorf("MIGRATE_ON_START: %w", err)
		}
		if st, err = a.migrator.State(ctx); err != nil {
			return err
		}
	case st.Behind():
		a.log.Warn("the database schema is behind this binary; /ready fails (check schema) until `example migrate up` runs",
			"err", st.Err())
	}
	a.schemaReady = !st.Behind()
	return nil
}

// lookup reads the environment the configuration was loaded from.
func (a *App) lookup(k string) (string, bool) {
	if a.cfg.getenv != nil {
		v := a.cfg.getenv(k)
		return v, v != ""
	}
	return os.LookupEnv(k)
}

// cancelTimeout is the example's DATABASE_CANCEL_TIMEOUT default (the pool's
// is 1 s): a request stopped by DATABASE_QUERY_TIMEOUT answers at most this
// much later, even when the server never answers the cancel request.
const cancelTimeout = 100 * time.Millisecond

// lockoutTimeout is the least a lockout call may wait for Redis: more than
// the rate limits' budget, since a lockout that cannot be read falls back to
// one replica's own count, and as long as the token store's, so that a login
// whose first Redis call meets an outage still answers well within 1 s
// (later calls get REDIS_TIMEOUT: see redisBudget).
const lockoutTimeout = 250 * time.Millisecond

// authStoreTimeout is the least a token store call may wait for Redis (the
// store's own default).
const authStoreTimeout = 250 * time.Millisecond

// leaseMaxAge bounds how long a replica may hold leased allowance of the
// global limit: with RATE_LIMIT's default of 1000/minute, a lease held
// across an interval lets that interval see at most 1000 × 0.5 s / 60 s ≈ 8
// requests (0.8 %) more than the exact limit, whatever the number of
// replicas (see redisstore.WithLease).
const leaseMaxAge = 500 * time.Millisecond

// rateStores returns the stores of the global limit and of the login
// limit: on Redis when configured, the global one in lease mode unless
// RATE_LIMIT_LEASE is 0, the login one always exact; else one memory store.
func (a *App) rateStores() (global, login ratelimit.Store, err error) {
	if a.secRDB == nil {
		m, err := ratelimit.NewMemoryStore()
		return m, m, err
	}
	opts := []ratestore.Option{
		ratestore.WithKeyPrefix(a.cfg.AppName + ":rl:"),
		ratestore.WithTimeout(a.cfg.RedisTimeout),
		ratestore.WithFailurePolicy(ratelimit.LocalFallback),
		ratestore.WithLogger(a.log),
	}
	// New reads maxmemory-policy once (bounded at 2 s) and only warns: an
	// evicted counter resets a limit early, nothing worse.
	exact, err := ratestore.New(context.Background(), a.secRDB, opts...)
	if err != nil || a.cfg.RateLimitLease == 0 {
		return exact, exact, err
	}
	leased, err := ratestore.New(context.Background(), a.secRDB,
		append(opts, ratestore.WithLease(int64(a.cfg.RateLimitLease), leaseMaxAge))...)
	return leased, exact, err
}
