// Command example is a service built from covet's packages.
//
// With no environment it serves on 127.0.0.1:8080 using embedded defaults:
//
//	GET /health          liveness
//	GET /ready           readiness (?verbose, ?exclude=name)
//	GET /ready/{check}   one check alone
//	GET /metrics/health  system information
//
// ADDR overrides the listen address. DATABASE_URL and REDIS_URL, when set,
// add PostgreSQL and Redis readiness checks. SIGINT or SIGTERM drains
// readiness, waits SHUTDOWN_DELAY (default 0 s; a few load-balancer probe
// periods in production) and shuts the server down gracefully.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/health"
)

func main() {
	if err := run(); err != nil {
		slog.Error("example", "err", err)
		os.Exit(1)
	}
}

func run() error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	addr := envOr("ADDR", "127.0.0.1:8080")
	delay, err := time.ParseDuration(envOr("SHUTDOWN_DELAY", "0s"))
	if err != nil || delay < 0 {
		return fmt.Errorf("SHUTDOWN_DELAY %q: want a duration such as 10s", os.Getenv("SHUTDOWN_DELAY"))
	}

	opts := []health.Option{
		health.WithVersion("0.1.0"),
		health.WithServiceID("covet-example"),
		health.WithDescription("covet example service"),
		health.WithCheck("goroutines", func(context.Context) error {
			if n := runtime.NumGoroutine(); n > 10000 {
				return fmt.Errorf("%d goroutines", n)
			}
			return nil
		}, health.WithComponentType("system"), health.WithCritical(false)),
		health.WithStatusHook(func(c health.Change) {
			logger.Info("health check status changed", "check", c.Check, "from", c.From, "to", c.To, "err", c.Err)
		}),
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		db, err := sql.Open("pgx", u)
		if err != nil {
			return fmt.Errorf("DATABASE_URL: %w", err)
		}
		defer db.Close()
		opts = append(opts, health.WithCheck("database", health.SQLPing(db), health.WithComponentType("datastore")))
	}
	if u := os.Getenv("REDIS_URL"); u != "" {
		ro, err := redis.ParseURL(u)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		rdb := redis.NewClient(ro)
		defer rdb.Close()
		opts = append(opts, health.WithCheck("redis", health.RedisPing(rdb), health.WithComponentType("datastore")))
	}

	var conns health.ConnCounter
	opts = append(opts, health.WithConnCounter(&conns))
	checker, err := health.New(opts...)
	if err != nil {
		return err
	}
	defer checker.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /health", checker.Liveness())
	mux.Handle("GET /ready", checker.Readiness())
	mux.Handle("GET /ready/{check}", checker.Readiness())
	mux.Handle("GET /metrics/health", checker.SystemHandler())

	srv := &http.Server{
		Addr:              addr,
		Handler:           mux,
		ConnState:         conns.ConnState,
		ReadHeaderTimeout: 5 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	logger.Info("serving", "addr", addr)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal ends the process at once
	logger.Info("shutting down", "delay", delay)
	err = checker.Shutdown(context.Background(), srv, delay, 20*time.Second)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
