// Package health serves liveness, readiness and system information endpoints
// for an HTTP service, and drains readiness during a graceful shutdown.
//
// A [Checker] holds the checks, each a [CheckFunc] (func(ctx) error). Its
// handlers are plain [net/http.Handler] values that the caller mounts where
// it likes, on chi or on the standard [net/http.ServeMux]:
//
//   - [Checker.Liveness] (typically /health): 200 with status, version and
//     uptime. It never touches a dependency.
//   - [Checker.Readiness] (typically /ready): runs the checks; 200 when every
//     critical check passes, 503 when one fails; a failing non-critical check
//     gives status warn and still 200.
//   - [Checker.CheckHandler] (typically /ready/name): one check alone.
//
// Host figures (CPU, memory, disk, open connections) are served by the
// subpackage [github.com/covetgo/covet/health/system], so that a service that
// only needs probes does not link gopsutil.
//
// # Checks
//
// Ready-made checks: [SQLPing] for *sql.DB and *sqlx.DB, [HTTPGet] for an
// HTTP dependency. Any function with the CheckFunc signature works too, and
// any client is one line away from one, so the package imports none:
//
//	health.WithCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
//
// Each check has its own timeout (default 2 s) and runs in parallel with the
// others; a panic becomes a failure ([ErrPanic]), a timeout [ErrTimeout].
// When a check times out, the probe is answered at the timeout and the
// check's context is cancelled. A check that ignores its context keeps its
// goroutine until it returns on its own; meanwhile later runs report it as
// timed out instead of starting it again, so such a check never piles up
// goroutines and never makes a probe wait longer than its timeout.
//
// # Slow checks in the background
//
// A probe waits at most for the longest timeout of the checks it runs, so
// keep every check's timeout below the probe's (a Kubernetes readinessProbe
// gives up after timeoutSeconds, 1 s by default). A check that is slow, may
// stall, or whose answer changes slowly (a certificate's expiry, a disk)
// goes in the background with [WithBackground]: it is called on its own
// interval from New until [Checker.Close], and runs read its last result
// with its age ([Result.Age]) instead of waiting for it, whatever it does.
//
//	cert, err := health.TLSCert("api.example.com:443", 14*24*time.Hour, nil)
//	...
//	health.WithCheck("cert", cert, health.WithTimeout(5*time.Second),
//		health.WithBackground(time.Minute), health.WithCritical(false))
//
// Until its first call ends a background check reports [ErrPending].
//
// # Caching
//
// Results are cached for a TTL (default 1 s, [WithCacheTTL]) and concurrent
// probes share one run, so a burst of probes costs one run of each check.
// Probes never queue behind a run: while one is under way, the other probes
// get the previous results at once (only the first run of all, or one after
// a long idle spell, is waited for). The response bodies are rendered once
// per run, so a cached probe only writes bytes. With [WithInterval] every
// run happens in the background instead and probes always get the last
// results; call [Checker.Close] to stop.
//
// A status hook ([WithStatusHook]) is called when a check's status changes,
// never on an unchanged probe: wire it to slog or an alert.
//
// # Response format
//
// Bodies follow the [IETF draft] "Health Check Response Format for HTTP APIs"
// ([ContentTypeHealth]): status pass, warn or fail; version, releaseId,
// serviceId and description when set; and per check a "name:responseTime"
// entry with componentType, observedValue (milliseconds), observedUnit,
// status, time and output (the error text, hidden by [WithHiddenOutput]).
//
//	{"status":"fail","version":"1.4.0","checks":{
//	  "database:responseTime":[{"componentType":"datastore","observedValue":1.21,
//	    "observedUnit":"ms","status":"pass","time":"2026-11-26T13:00:00Z"}],
//	  "search:responseTime":[{"componentType":"component","observedValue":2000,
//	    "observedUnit":"ms","status":"fail","time":"2026-11-26T13:00:00Z",
//	    "output":"health: check timed out after 2s"}]}}
//
// As in Kubernetes' /readyz, ?verbose gives a plain-text list, ?exclude=name
// leaves checks out, and /ready/name answers for one check:
//
//	[+]database ok
//	[-]search failed: health: check timed out after 2s
//	ready check failed
//
// Bad requests get RFC 9457 problem details: 404 for an unknown check, 405
// for a method other than GET or HEAD.
//
// # Mounting
//
// The handlers never read the URL path, so they answer the same wherever
// they are mounted: under http.StripPrefix, in a chi sub-router or behind a
// gateway that rewrites paths. A single check is named either explicitly,
// with [Checker.CheckHandler], or by the router, through a {check} path
// value (a ServeMux wildcard or a chi parameter):
//
//	mux.Handle("GET /health", checker.Liveness())
//	mux.Handle("GET /ready", checker.Readiness())
//	mux.Handle("GET /ready/{check}", checker.Readiness())
//
//	db, err := checker.CheckHandler("database") // fails for an unknown name
//	mux.Handle("GET /ready/db", db)
//
// With chi:
//
//	r.Get("/ready", checker.Readiness().ServeHTTP)
//	r.Get("/ready/{check}", checker.Readiness().ServeHTTP)
//
// # Graceful shutdown
//
// [Checker.Drain] turns readiness to fail ("shutting down") at once;
// [Checker.Shutdown] runs the whole sequence for an *http.Server: drain, wait
// a delay so that load balancers stop sending, then Shutdown with a deadline.
// Liveness stays 200 throughout.
//
//	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
//	defer stop()
//	go func() { _ = srv.ListenAndServe() }()
//	<-ctx.Done()
//	err := checker.Shutdown(context.Background(), srv, 5*time.Second, 20*time.Second)
//
// [IETF draft]: https://datatracker.ietf.org/doc/html/draft-inadarei-api-health-check
package health
