// Server lifecycle: listeners, graceful shutdown and the start-up handler.

package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/covetgo/covet/health/system"
)

// ServeInternal serves InternalHandler on ln until ctx is done, and for the
// drain delay after that, so that the last scrapes of a stopping instance
// still succeed.
func (a *service) ServeInternal(ctx context.Context, ln net.Listener) error {
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

// Serve serves on ln until ctx is done, then drains: readiness fails at once,
// the server keeps serving for DRAIN_DELAY so load balancers stop sending,
// and then shuts down gracefully.
func (a *service) Serve(ctx context.Context, ln net.Listener) error {
	srv := newServer(a.log, a.handler, a.conns)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return a.serve(ctx, srv, ln, served)
}

// Run serves on ln from the start, before the stores are open: while start
// connects (retrying an unreachable PostgreSQL for DATABASE_CONNECT_TIMEOUT),
// /health answers 200, /ready 503 and every other route 503 with
// Retry-After. Once start succeeds the full service takes over on the same
// listener and the internal endpoints are served on iln (when not nil); when
// start fails Run stops serving and returns its one-line error.
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

func (a *service) serve(ctx context.Context, srv *http.Server, ln net.Listener, served chan error) error {
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
