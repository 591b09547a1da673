// Package app is the example service: every covet package composed on chi.
// It is a separate package from main so that the end-to-end tests can start
// it in-process.
package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/health"
	"github.com/covetgo/covet/health/system"
	"github.com/covetgo/covet/jsonbody"
	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/password"
	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/tracing"
	"github.com/covetgo/covet/stream"
)

// maxBodyBytes is the request body limit; larger bodies get 413.
const maxBodyBytes = 1 << 20

// service is the running service's state.
type service struct {
	cfg      *Config
	log      *slog.Logger
	db       *sqlx.DB
	rdb      redis.UniversalClient // nil in the embedded default
	secRDB   redis.UniversalClient // security state: REDIS_SECURITY_URL, else rdb
	users    *userStore
	checker  *health.Checker
	system   *system.Handler
	conns    *system.ConnCounter
	reg      *prometheus.Registry
	auth     *jwtauth.Default
	login    *password.Login[loginUser]
	hasher   *password.Hasher
	policy   *password.Policy
	caches   *caches
	compress func(http.Handler) http.Handler // see newCompressor
	body     *jsonbody.Decoder               // every request body: strict JSON, MaxBodyBytes
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

// start builds the service: it opens the database (and Redis when configured),
// checks the schema (applying pending migrations when MIGRATE_ON_START is
// on), seeds demo users and the admin, and assembles the router. Close
// releases what it opened.
//
// Every error it returns is one line naming the variable or dependency at
// fault. An unreachable PostgreSQL is retried with backoff for
// DATABASE_CONNECT_TIMEOUT (Run keeps the probes answering meanwhile); an
// unreachable Redis is not an error: the service starts degraded, /ready
// names redis until it answers, and the client reconnects by itself.
func start(ctx context.Context, cfg *Config, log *slog.Logger) (*service, error) {
	return newApp(ctx, cfg, log, new(system.ConnCounter))
}

func newApp(ctx context.Context, cfg *Config, log *slog.Logger, conns *system.ConnCounter) (_ *service, err error) {
	a := &service{cfg: cfg, log: log, reg: prometheus.NewRegistry(), conns: conns}
	if a.body, err = jsonbody.New(jsonbody.WithMaxBytes(maxBodyBytes)); err != nil {
		return nil, err
	}
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
	if a.compress, err = newCompressor(); err != nil {
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

// Handler returns the service's root handler.
func (a *service) Handler() http.Handler { return a.handler }

// InternalHandler returns the handler of the internal listener
// (INTERNAL_ADDR): /metrics, /metrics/health and /debug/pprof/. It must never
// be reachable from outside: it has no host check, no authentication and no
// rate limit.
func (a *service) InternalHandler() http.Handler { return a.internal }

// Registry returns the Prometheus registry /metrics serves.
func (a *service) Registry() *prometheus.Registry { return a.reg }

// Close releases the database, Redis and background work. It is safe on a
// nil *App and idempotent.
func (a *service) Close() error {
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
