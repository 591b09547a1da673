// Package app is the example service: every covet package composed on chi.
// It is a separate package from main so that the end-to-end tests can start
// it in-process.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/health"
	"github.com/covetgo/covet/health/system"
	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/password"
	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/tracing"
	"github.com/covetgo/covet/pool"
	_ "github.com/covetgo/covet/pool/sqlite" // the embedded default database
	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/ratelimit/lockout"
	"github.com/covetgo/covet/securehdr"
	"github.com/covetgo/covet/stream"
)

// MaxBodyBytes is the request body limit; larger bodies get 413.
const MaxBodyBytes = 1 << 20

// App is the running service's state.
type App struct {
	cfg      *Config
	log      *slog.Logger
	db       *sqlx.DB
	rdb      redis.UniversalClient // nil in the embedded default
	secRDB   redis.UniversalClient // security state: REDIS_SECURITY_URL, else rdb
	users    *Users
	checker  *health.Checker
	system   *system.Handler
	conns    *system.ConnCounter
	reg      *prometheus.Registry
	auth     *jwtauth.Default
	login    *password.Login[loginUser]
	hasher   *password.Hasher
	policy   *password.Policy
	caches   *caches
	exporter *stream.Exporter
	handler  http.Handler
	internal *http.ServeMux
	closers  []func() error

	accessLog     *slog.Logger // a.log without the request IDs it adds
	tp            trace.TracerProvider
	tracer        *tracing.Tracer
	reportFailure func(context.Context, metrics.Failure) // nil: not reported
	migrator      *Migrator
	// schemaReady is false when the service started on a schema behind its
	// migrations (MIGRATE_ON_START=false): seeding waits for a later start.
	schemaReady bool
}

type loginUser struct {
	ID       int64
	Username string
	Admin    bool
}

// New builds the service: it opens the database (and Redis when configured),
// checks the schema (applying pending migrations when MIGRATE_ON_START is
// on), seeds demo users and the admin, and assembles the router. Close
// releases what it opened.
//
// Every error it returns is one line naming the variable or dependency at
// fault. An unreachable PostgreSQL is retried with backoff for
// DATABASE_CONNECT_TIMEOUT (Run keeps the probes answering meanwhile); an
// unreachable Redis is not an error: the service starts degraded, /ready
// names redis until it answers, and the client reconnects by itself.
func New(ctx context.Context, cfg *Config, log *slog.Logger) (*App, error) {
	return newApp(ctx, cfg, log, new(system.ConnCounter))
}

func newApp(ctx context.Context, cfg *Config, log *slog.Logger, conns *system.ConnCounter) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, reg: prometheus.NewRegistry(), conns: conns}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if err := a.setupTelemetry(ctx); err != nil {
		return nil, err
	}
	if err := a.openStores(ctx); err != nil {
		return nil, err
	}
	if err := a.setupAuth(ctx); err != nil {
		return nil, err
	}
	if err := a.setupHealth(); err != nil {
		return nil, err
	}
	if err := a.setupBackupMetric(); err != nil {
		return nil, err
	}
	if a.caches, err = newCaches(a); err != nil {
		return nil, err
	}
	// A database failure before the first byte is a dependency failure
	// like any other: 503 with Retry-After, not the package's default 500.
	a.exporter, err = stream.New(stream.WithFilename("users.csv"), stream.WithLogger(log),
		stream.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			if stream.StatusOf(err) == http.StatusInternalServerError {
				a.serverError(w, r, "export users", err)
				return
			}
			stream.WriteProblem(w, r, err)
		}))
	if err != nil {
		return nil, err
	}
	a.handler, err = a.routes()
	if err != nil {
		return nil, err
	}
	return a, nil
}

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

func (a *App) setupAuth(ctx context.Context) error {
	specs := a.cfg.SigningKeys
	if len(specs) == 0 {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		specs = []signingKey{{ID: "k1", Secret: secret}}
		a.log.Warn("SECRET_KEY is not set: signing tokens with a random key; tokens die with this process and replicas will not accept each other's")
	}
	// The newest key signs; the others only verify, so tokens signed before
	// a rotation stay valid until they expire.
	keys := make([]jwtauth.Key, len(specs))
	for i, k := range specs {
		var err error
		if keys[i], err = jwtauth.HS256Key(k.ID, k.Secret); err != nil {
			return fmt.Errorf("SIGNING_KEYS: key %q: %w", k.ID, err)
		}
	}
	ring, err := jwtauth.NewKeyRing(keys[0], keys[1:]...)
	if err != nil {
		return fmt.Errorf("SIGNING_KEYS: %w", err)
	}
	opts := []jwtauth.Option{jwtauth.WithIssuer(a.cfg.AppName), jwtauth.WithAudience(a.cfg.AppName), jwtauth.WithoutCookies()}
	var lock *lockout.Lockout
	if a.secRDB != nil {
		// Calls are bounded (250 ms, or REDIS_TIMEOUT if longer) and share the
		// breaker; refresh and the
		// denylist fail closed (503 + Retry-After): see the README.
		store, err := jwtauth.NewRedisStore(a.secRDB, jwtauth.WithKeyPrefix(a.cfg.AppName+":auth:"),
			jwtauth.WithLogger(a.log), jwtauth.WithTimeout(max(a.cfg.RedisTimeout, authStoreTimeout)))
		if err != nil {
			return err
		}
		opts = append(opts, jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store))
		// While Redis is unavailable each replica counts failed logins in
		// memory (LocalFallback, the default), so logins keep working.
		lock, err = lockout.NewRedis(a.secRDB, lockout.WithKeyPrefix(a.cfg.AppName+":lockout:"),
			lockout.WithLogger(a.log), lockout.WithTimeout(max(a.cfg.RedisTimeout, lockoutTimeout)))
		if err != nil {
			return err
		}
	} else {
		store := jwtauth.NewMemoryStore()
		opts = append(opts, jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store))
		lock, err = lockout.New()
		if err != nil {
			return err
		}
	}
	if a.auth, err = jwtauth.New[jwtauth.Claims](ring, opts...); err != nil {
		return err
	}
	if a.hasher, err = password.NewHasher(); err != nil {
		return err
	}
	if a.policy, err = password.NewPolicy(); err != nil {
		return err
	}
	a.login, err = password.NewLogin(a.hasher, a.lookupLogin, lock)
	if err != nil {
		return err
	}
	if !a.schemaReady {
		return nil
	}
	return a.seed(ctx)
}

func (a *App) lookupLogin(ctx context.Context, account string) (loginUser, string, error) {
	id, hash, status, err := a.users.Credentials(ctx, account)
	if errors.Is(err, ErrNotFound) || (err == nil && status != "active") {
		return loginUser{}, "", password.ErrUnknownAccount
	}
	if err != nil {
		return loginUser{}, "", err
	}
	account = NormalizeUsername(account)
	return loginUser{ID: id, Username: account, Admin: account == a.cfg.AdminUsername}, hash, nil
}

func (a *App) seed(ctx context.Context) error {
	adminPassword := a.cfg.AdminPassword
	generated := adminPassword == ""
	if generated {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		adminPassword = base64.RawURLEncoding.EncodeToString(b)
	} else if err := a.policy.Check(adminPassword, a.cfg.AdminUsername); err != nil {
		return fmt.Errorf("ADMIN_PASSWORD: %w", err)
	}
	hash, err := a.hasher.Hash(adminPassword)
	if err != nil {
		return err
	}
	if a.cfg.SeedUsers > 0 {
		// Demo users share one hash of a random password nobody knows, so
		// seeding costs one hash; Seed does nothing unless the table is empty.
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		demo, err := a.hasher.Hash(base64.RawURLEncoding.EncodeToString(b))
		if err != nil {
			return err
		}
		if err := a.users.Seed(ctx, a.cfg.SeedUsers, demo); err != nil {
			return err
		}
	}
	created, err := a.users.EnsureAdmin(ctx, a.cfg.AdminUsername, hash)
	if err != nil {
		return err
	}
	if created && generated {
		// Logged once, when the admin is created; never again.
		a.log.Warn("created the admin user with a random password; set ADMIN_PASSWORD to choose it", "username", a.cfg.AdminUsername, "password", adminPassword)
	}
	return nil
}

// checkTimeout bounds the database and Redis readiness checks, and
// checkCacheTTL how long a run's results answer probes. A ping takes
// milliseconds; a dependency that stops answering (or answers seconds late)
// shows on /ready within checkCacheTTL + checkTimeout (1.3 s), inside the
// 2 s the README promises even on a busy machine.
const (
	checkTimeout  = 800 * time.Millisecond
	checkCacheTTL = 500 * time.Millisecond
)

func (a *App) setupHealth() error {
	statusGauge, err := healthStatusGauge(a.reg)
	if err != nil {
		return err
	}
	opts := []health.Option{
		health.WithVersion(a.cfg.AppVersion),
		health.WithServiceID(a.cfg.AppName),
		health.WithDescription(a.cfg.AppName + " API"),
		health.WithCacheTTL(checkCacheTTL),
		health.WithCheck("database", health.SQLPing(a.db), health.WithComponentType("datastore"), health.WithTimeout(checkTimeout)),
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
		opts = append(opts, health.WithCheck("tls-certificate", check, health.WithCritical(false), health.WithTimeout(5*time.Second)))
	}
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

func (a *App) routes() (http.Handler, error) {
	cfg := a.cfg
	trusted := make([]string, len(cfg.TrustedProxies))
	for i, p := range cfg.TrustedProxies {
		trusted[i] = p.String()
	}
	mw, metricsHandler, err := a.metricsMiddleware()
	if err != nil {
		return nil, err
	}
	// Security headers on every response; the host check, then the HTTPS
	// redirect, on everything but the probes, which orchestrators send
	// over plain HTTP to a pod address (a redirect built from an unchecked
	// Host would be an open redirect, so the check comes first).
	headers, err := securehdr.New(securehdr.Config{
		TrustedProxies: trusted,
		AllowedHosts:   cfg.AllowedHosts,
		RedirectHTTPS:  cfg.forceHTTPS,
		ExemptPaths:    probePaths,
	})
	if err != nil {
		if len(cfg.AllowedHosts) > 0 {
			return nil, fmt.Errorf("ALLOWED_HOSTS: %w", err)
		}
		return nil, err
	}
	global, loginLimit, err := a.rateLimits()
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(metrics.RequestID, withRedisBudget)
	if len(cfg.TrustedProxies) > 0 {
		r.Use(middleware.ClientIPFromXFF(trusted...))
	} else {
		r.Use(middleware.ClientIPFromRemoteAddr)
	}
	// The recoverer is outside the metrics middleware, so that a panic
	// reaches the failure report with the stack that raised it; the
	// middleware records it as a 500 and raises it again.
	r.Use(recoverer(a.log))
	r.Use(mw.Handler)
	r.Use(headers.Handler)

	// Everything but the probes goes through the public stack, before
	// routing, so that a preflight or an unknown path is answered by the
	// same checks as a real route: after the host check and redirect
	// above, load shedding (a request over the in-flight bound costs no
	// more than its 503), CORS, the body limit, compression and the global
	// limit.
	stack, err := a.publicStack(global)
	if err != nil {
		return nil, err
	}
	r.Use(exceptProbes(stack...))
	r.Use(middleware.GetHead)

	r.NotFound(func(w http.ResponseWriter, r *http.Request) { writeProblem(w, http.StatusNotFound, "") })
	r.MethodNotAllowed(methodNotAllowed)

	// Probes: no host check, redirect, CORS or rate limit, so that
	// orchestrators, which use pod addresses and plain HTTP, always get in.
	// Metrics, system figures and pprof are on the internal listener only.
	r.Get("/health", a.checker.Liveness().ServeHTTP)
	r.Get("/ready", a.checker.Readiness().ServeHTTP)
	r.Get("/ready/{check}", a.checker.Readiness().ServeHTTP)

	a.mountAPI(r, loginLimit)

	a.internal = internalMux(metricsHandler, a.system)
	return r, nil
}

// metricsMiddleware returns the one pass for metrics, access log, the
// request's span and failure reports, all named by the same route pattern,
// and the /metrics handler of the internal listener.
func (a *App) metricsMiddleware() (*metrics.Middleware, http.Handler, error) {
	mwOpts := []metrics.Option{
		metrics.WithLogger(a.accessLog),
		metrics.WithRedactedQuery("token", "access_token", "refresh_token"),
		metrics.WithTracer(a.tracer),
	}
	if a.reportFailure != nil {
		mwOpts = append(mwOpts, metrics.WithErrorHook(a.reportFailure))
	}
	mw, err := metrics.New(a.reg, mwOpts...)
	if err != nil {
		return nil, nil, err
	}
	metricsHandler, err := metrics.Handler(a.reg, metrics.WithGoCollector(), metrics.WithProcessCollector())
	if err != nil {
		return nil, nil, err
	}
	return mw, metricsHandler, nil
}

// rateLimits builds the global limit and the login limit (per client
// address) over one store: Redis when configured, else memory.
func (a *App) rateLimits() (global, login *ratelimit.Limiter, err error) {
	limitStore, err := a.rateStore()
	if err != nil {
		return nil, nil, err
	}
	rate, err := ratelimit.ParseRate(a.cfg.RateLimit)
	if err != nil {
		return nil, nil, fmt.Errorf("RATE_LIMIT: %w", err)
	}
	if global, err = ratelimit.New(limitStore, rate, ratelimit.WithName("global")); err != nil {
		return nil, nil, err
	}
	loginRate, err := ratelimit.ParseRate(a.cfg.LoginRateLimit)
	if err != nil {
		return nil, nil, fmt.Errorf("LOGIN_RATE_LIMIT: %w", err)
	}
	login, err = ratelimit.New(limitStore, loginRate, ratelimit.WithName("login"),
		ratelimit.WithKeyFunc(ratelimit.KeyBy(ratelimit.KeyByIP, func(*http.Request) string { return "login" })))
	if err != nil {
		return nil, nil, err
	}
	return global, login, nil
}

// publicStack is what every request but the probes goes through, in
// order: load shedding, CORS (when configured), the body limit,
// compression and the global rate limit.
func (a *App) publicStack(global *ratelimit.Limiter) ([]func(http.Handler) http.Handler, error) {
	cfg := a.cfg
	stack := []func(http.Handler) http.Handler{
		newShedder(cfg.MaxInFlight, cfg.MaxInFlightBacklog, cfg.MaxInFlightWait).Handler,
	}
	if len(cfg.CORSAllowOrigins) > 0 {
		cors, err := securehdr.NewCORS(securehdr.CORSConfig{
			AllowedOrigins:   cfg.CORSAllowOrigins,
			AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodHead},
			AllowedHeaders:   []string{"Authorization", "Content-Type", "X-CSRF-Token", "X-Request-ID"},
			ExposedHeaders:   []string{"X-Request-ID", "X-Cache", "RateLimit", "RateLimit-Policy", "Retry-After", "Location"},
			AllowCredentials: !containsString(cfg.CORSAllowOrigins, "*"),
		})
		if err != nil {
			return nil, fmt.Errorf("CORS_ALLOW_ORIGINS: %w", err)
		}
		stack = append(stack, cors.Handler)
	}
	return append(stack, bodyLimit(MaxBodyBytes), middleware.Compress(5), global.Handler), nil
}

// mountAPI mounts the authentication routes, the users API and the export.
func (a *App) mountAPI(r chi.Router, loginLimit *ratelimit.Limiter) {
	r.With(loginLimit.Handler).Post("/auth/login", a.handleLogin)
	r.Post("/auth/refresh", a.handleRefresh)
	r.With(a.auth.Optional).Post("/auth/logout", a.handleLogout)
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(a.auth.Handler, a.setUserID)
		// The list is cached (per user) by the service and may be kept
		// briefly by the client; everything else is never stored.
		r.With(a.caches.list).Get("/users", a.handleListUsers)
		r.With(securehdr.NoStore).Get("/users/{id}", a.handleGetUser)
		r.With(securehdr.NoStore, a.auth.RequireRole(roleAdmin)).Post("/users", a.handleCreateUser)
	})
	r.Route("/export", func(r chi.Router) {
		r.Use(a.auth.Handler, a.setUserID, a.auth.RequireRole(roleAdmin))
		r.Get("/users.csv", a.handleExportUsers)
	})
}

// internalMux serves the internal listener: metrics, system figures and
// pprof.
func internalMux(metricsHandler, system http.Handler) *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /metrics", metricsHandler)
	m.Handle("GET /metrics/health", system)
	m.HandleFunc("GET /debug/pprof/", pprof.Index)
	m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return m
}

// roleAdmin is the role that may create users and export them all.
const roleAdmin = "admin"

// probePath reports whether path is a probe, served without the public
// stack: /health, /ready and /ready/{check}.
func probePath(path string) bool {
	return path == "/health" || path == "/ready" || strings.HasPrefix(path, "/ready/")
}

// probePaths are the probes in securehdr's ExemptPaths form.
var probePaths = []string{"/health", "/ready", "/ready/"}

// exceptProbes runs stack in front of every request but the probes.
func exceptProbes(stack ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		h := next
		for i := len(stack) - 1; i >= 0; i-- {
			h = stack[i](h)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if probePath(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// methodNotAllowed answers 405 with the Allow header RFC 9110 requires,
// listing the methods the router serves for the path (HEAD wherever GET).
func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	rctx := chi.RouteContext(r.Context())
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var allow []string
	if rctx != nil && rctx.Routes != nil {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if rctx.Routes.Match(chi.NewRouteContext(), m, path) ||
				(m == http.MethodHead && containsString(allow, http.MethodGet)) {
				allow = append(allow, m)
			}
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	writeProblem(w, http.StatusMethodNotAllowed, "")
}

// setUserID hands the authenticated subject to the access log.
func (a *App) setUserID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := jwtauth.ClaimsFromContext(r.Context()); ok {
			r = r.WithContext(metrics.WithUserID(r.Context(), c.Subject))
		}
		next.ServeHTTP(w, r)
	})
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

func (a *App) rateStore() (ratelimit.Store, error) {
	if a.secRDB != nil {
		return ratelimit.NewRedisStore(a.secRDB,
			ratelimit.WithKeyPrefix(a.cfg.AppName+":rl:"),
			ratelimit.WithTimeout(a.cfg.RedisTimeout),
			ratelimit.WithFailurePolicy(ratelimit.LocalFallback),
			ratelimit.WithLogger(a.log))
	}
	return ratelimit.NewMemoryStore()
}

// Handler returns the service's root handler.
func (a *App) Handler() http.Handler { return a.handler }

// InternalHandler returns the handler of the internal listener
// (INTERNAL_ADDR): /metrics, /metrics/health and /debug/pprof/. It must never
// be reachable from outside: it has no host check, no authentication and no
// rate limit.
func (a *App) InternalHandler() http.Handler { return a.internal }

// ServeInternal serves InternalHandler on ln until ctx is done, and for the
// drain delay after that, so that the last scrapes of a stopping instance
// still succeed.
func (a *App) ServeInternal(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.internal,
		ReadHeaderTimeout: 5 * time.Second,
		// pprof's profile and trace run for up to 30 s by default.
		WriteTimeout: 90 * time.Second,
		IdleTimeout:  120 * time.Second,
		ErrorLog:     slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	a.log.Info("serving internal endpoints", "addr", ln.Addr().String())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	t := time.NewTimer(a.cfg.DrainDelay)
	select {
	case <-t.C:
	case err := <-served:
		t.Stop()
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Registry returns the Prometheus registry /metrics serves.
func (a *App) Registry() *prometheus.Registry { return a.reg }

// Serve serves on ln until ctx is done, then drains: readiness fails at once,
// the server keeps serving for DRAIN_DELAY so load balancers stop sending,
// and then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := newServer(a.log, a.handler, a.conns)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return a.serve(ctx, srv, ln, served)
}

// Run serves on ln from the start, before the stores are open: while New
// connects (retrying an unreachable PostgreSQL for DATABASE_CONNECT_TIMEOUT),
// /health answers 200, /ready 503 and every other route 503 with
// Retry-After. Once New succeeds the full service takes over on the same
// listener and the internal endpoints are served on iln (when not nil); when
// New fails Run stops serving and returns its one-line error.
func Run(ctx context.Context, cfg *Config, log *slog.Logger, ln, iln net.Listener) error {
	conns := new(system.ConnCounter)
	var current atomic.Pointer[http.Handler]
	starting := startingHandler()
	current.Store(&starting)
	srv := newServer(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*current.Load()).ServeHTTP(w, r)
	}), conns)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	a, err := newApp(ctx, cfg, log, conns)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-served
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted while starting: %w", err)
		}
		return oneLineError{err}
	}
	defer a.Close()
	current.Store(&a.handler)
	if iln == nil {
		return a.serve(ctx, srv, ln, served)
	}
	ictx, istop := context.WithCancel(ctx)
	defer istop()
	internal := make(chan error, 1)
	go func() { internal <- a.ServeInternal(ictx, iln) }()
	err = a.serve(ctx, srv, ln, served)
	istop()
	return errors.Join(err, <-internal)
}

// oneLineError prints its error on one line (drivers join attempts with
// newlines) and still unwraps to it.
type oneLineError struct{ err error }

func (e oneLineError) Error() string {
	return strings.Join(strings.Fields(strings.ReplaceAll(e.err.Error(), "\n", "; ")), " ")
}

func (e oneLineError) Unwrap() error { return e.err }

// startingHandler answers while the stores are being opened.
func startingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.Header().Set("Content-Type", "application/health+json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, `{"status":"pass"}`+"\n")
		case "/ready":
			w.Header().Set("Content-Type", "application/health+json")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"fail","output":"starting: connecting to the database"}`+"\n")
		default:
			w.Header().Set("Retry-After", "1")
			writeProblem(w, http.StatusServiceUnavailable, "the service is starting")
		}
	})
}

func newServer(log *slog.Logger, h http.Handler, conns *system.ConnCounter) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Long enough for CSV exports, which also extend their own write
		// deadline as they stream.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ConnState:      conns.ConnState,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (a *App) serve(ctx context.Context, srv *http.Server, ln net.Listener, served chan error) error {
	a.log.Info("serving", "addr", ln.Addr().String(), "environment", a.cfg.Environment, "database", a.db.DriverName(), "redis", a.rdb != nil)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "drain_delay", a.cfg.DrainDelay)
	err := a.checker.Shutdown(context.Background(), srv, a.cfg.DrainDelay, 20*time.Second)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Close releases the database, Redis and background work. It is safe on a
// nil *App and idempotent.
func (a *App) Close() error {
	if a == nil {
		return nil
	}
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
