package health_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/health"
	"github.com/covetgo/covet/testenv"
)

func probe(h http.Handler, target string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	fmt.Printf("GET %s -> %d\n%s", target, rec.Code, rec.Body)
}

// Mounting the endpoints on the standard ServeMux.
func Example() {
	checker, err := health.New(
		health.WithVersion("1.4.0"),
		health.WithCheck("database", func(ctx context.Context) error { return nil }, health.WithComponentType("datastore")),
		health.WithCheck("cache", func(ctx context.Context) error { return errors.New("connection refused") }, health.WithCritical(false)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /health", checker.Liveness())
	mux.Handle("GET /ready", checker.Readiness())
	mux.Handle("GET /ready/{check}", checker.Readiness())

	probe(mux, "/ready?verbose")
	probe(mux, "/ready?verbose&exclude=cache")
	probe(mux, "/ready/cache?verbose")
	// Output:
	// GET /ready?verbose -> 200
	// [+]database ok
	// [-]cache failed (non-critical): connection refused
	// ready check passed with warnings
	// GET /ready?verbose&exclude=cache -> 200
	// [+]database ok
	// ready check passed
	// GET /ready/cache?verbose -> 503
	// [-]cache failed (non-critical): connection refused
	// ready check failed
}

// Mounting on chi: a {check} parameter gives each check its own path.
func ExampleChecker_Readiness_chi() {
	checker, err := health.New(health.WithCheck("database", func(ctx context.Context) error { return nil }))
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()

	r := chi.NewRouter()
	r.Get("/ready", checker.Readiness().ServeHTTP)
	r.Get("/ready/{check}", checker.Readiness().ServeHTTP)

	probe(r, "/ready/database?verbose")
	// Output:
	// GET /ready/database?verbose -> 200
	// [+]database ok
	// ready check passed
}

// Mounting in a sub-mux under a prefix with http.StripPrefix, with one
// check on a route of its own.
func ExampleChecker_CheckHandler() {
	checker, err := health.New(health.WithCheck("database", func(ctx context.Context) error { return nil }))
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()
	db, err := checker.CheckHandler("database")
	if err != nil {
		log.Fatal(err)
	}

	svc := http.NewServeMux()
	svc.Handle("GET /ready", checker.Readiness())
	svc.Handle("GET /ready/db", db)
	mux := http.NewServeMux()
	mux.Handle("/svc/", http.StripPrefix("/svc", svc))

	probe(mux, "/svc/ready?verbose")
	probe(mux, "/svc/ready/db?verbose")
	// Output:
	// GET /svc/ready?verbose -> 200
	// [+]database ok
	// ready check passed
	// GET /svc/ready/db?verbose -> 200
	// [+]database ok
	// ready check passed
}

// Draining: readiness fails at once, liveness stays up.
func ExampleChecker_Drain() {
	checker, err := health.New(health.WithCheck("database", func(ctx context.Context) error { return nil }))
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()
	probe(checker.Readiness(), "/ready?verbose")
	checker.Drain()
	probe(checker.Readiness(), "/ready?verbose")
	// Output:
	// GET /ready?verbose -> 200
	// [+]database ok
	// ready check passed
	// GET /ready?verbose -> 503
	// [+]database ok
	// [-]shutdown failed: shutting down
	// ready check failed
}

// The whole graceful shutdown of a server on SIGINT or SIGTERM. To run
// anywhere, the example listens on a free port and sends itself SIGTERM, as
// an orchestrator would; it also uses short delays where a service would
// use some seconds (see the comment at Shutdown).
func ExampleChecker_Shutdown() {
	checker, err := health.New()
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /ready", checker.Readiness())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil { // the orchestrator's part
		log.Fatal(err)
	}
	<-ctx.Done()
	stop() // a second signal now ends the process
	// Readiness fails at once; after the delay (some seconds, so that load
	// balancers see it) the server stops accepting and the requests in
	// flight get the deadline (20 s, say) to finish.
	err = checker.Shutdown(context.Background(), srv, 10*time.Millisecond, time.Second)
	fmt.Println("shut down:", err)
	_, err = http.Get("http://" + ln.Addr().String() + "/ready")
	fmt.Println("accepting after shutdown:", err == nil)
	// Output:
	// shut down: <nil>
	// accepting after shutdown: false
}

// Ready-made checks for PostgreSQL and an HTTP dependency, and a one-line
// check for Redis. The services are those of DATABASE_URL and REDIS_URL (the
// local test servers by default); the HTTP dependency is a stand-in.
func ExampleSQLPing() {
	db, err := sqlx.Open("pgx", testenv.DatabaseURL())
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	paymentsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer paymentsSrv.Close()

	database, err := health.SQLPing(db)
	if err != nil {
		log.Fatal(err)
	}
	payments, err := health.HTTPGet(nil, paymentsSrv.URL+"/health", http.StatusOK)
	if err != nil {
		log.Fatal(err)
	}
	checker, err := health.New(
		health.WithCheck("database", database, health.WithComponentType("datastore")),
		// Any client is one line away from a check: no adapter needed.
		health.WithCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
			health.WithComponentType("datastore"), health.WithTimeout(time.Second)),
		health.WithCheck("payments", payments, health.WithCritical(false)),
		health.WithHiddenOutput(),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()
	probe(checker.Readiness(), "/ready?verbose")
	// Output:
	// GET /ready?verbose -> 200
	// [+]database ok
	// [+]redis ok
	// [+]payments ok
	// ready check passed
}

// Logging status changes, not every probe.
func ExampleWithStatusHook() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	checker, err := health.New(
		health.WithCheck("database", func(ctx context.Context) error { return nil }),
		health.WithStatusHook(func(c health.Change) {
			logger.Info("health check status changed", "check", c.Check, "from", c.From, "to", c.To)
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()
	for range 3 {
		if _, err := checker.Report(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// level=INFO msg="health check status changed" check=database from="" to=pass
}

// A certificate watch that cannot hold up readiness. In production the check
// is health.TLSCert(addr, 14*24*time.Hour, nil); here it is a function that
// stalls as TLSCert does against an endpoint that accepts TCP and then says
// nothing, for the check's whole timeout (longer than the readinessProbe
// waits). In the background it is called once a minute and probes read its
// last result at once; until its first call ends it has no result, which
// fails it (a warning here, since it is not critical).
func ExampleWithBackground() {
	stalled := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	checker, err := health.New(
		health.WithCheck("database", func(ctx context.Context) error { return nil }),
		health.WithCheck("cert", stalled,
			health.WithTimeout(5*time.Second),
			health.WithBackground(time.Minute),
			health.WithCritical(false)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()
	rep, err := checker.Report(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, res := range rep.Checks {
		fmt.Printf("%s: %s, result %v old, %v\n", res.Name, res.Status, res.Age, res.Err)
	}
	fmt.Println("service:", rep.Status)
	// Output:
	// database: pass, result 0s old, <nil>
	// cert: fail, result 0s old, health: background check has no result yet
	// service: warn
}
