// Routing: the public router with its middleware stacks, the API and
// export routes, and the internal listener's mux.

package app

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/chiroute"
	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/securehdr"
)

func (a *service) routes() (http.Handler, error) {
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

	// The client address behind the trusted proxies, for the access log and
	// the rate limits; with none configured every client is its peer.
	ips, err := clientip.New(trusted)
	if err != nil {
		return nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}

	redisRoutes, err := newRedisRoutes(a.reg)
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(metrics.RequestID, redisRoutes.Handler, ips.Handler)
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
	// more than its 503), CORS, the body limit and the global limit.
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
func (a *service) metricsMiddleware() (*metrics.Middleware, http.Handler, error) {
	mwOpts := []metrics.Option{
		// chi's route context: found even though the middleware after
		// this one (securehdr's CSP nonce) replaces the request.
		metrics.WithRouter(chiroute.Router{}),
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
// address): on Redis when configured, the global one leased
// (RATE_LIMIT_LEASE) and the login one exact; else in memory.
func (a *service) rateLimits() (global, login *ratelimit.Limiter, err error) {
	globalStore, loginStore, err := a.rateStores()
	if err != nil {
		return nil, nil, err
	}
	rate, err := ratelimit.ParseRate(a.cfg.RateLimit)
	if err != nil {
		return nil, nil, fmt.Errorf("RATE_LIMIT: %w", err)
	}
	// Clients are keyed by the address the clientip.Resolver in front
	// resolved (behind TRUSTED_PROXIES, the forwarded client), not by the
	// direct peer, which is the proxy: ratelimit.KeyByIP reads it.
	client := ratelimit.KeyByIP
	if global, err = ratelimit.New(globalStore, rate, ratelimit.WithName("global")); err != nil {
		return nil, nil, err
	}
	loginRate, err := ratelimit.ParseRate(a.cfg.LoginRateLimit)
	if err != nil {
		return nil, nil, fmt.Errorf("LOGIN_RATE_LIMIT: %w", err)
	}
	login, err = ratelimit.New(loginStore, loginRate, ratelimit.WithName("login"),
		ratelimit.WithKeyFunc(ratelimit.KeyBy(client, func(*http.Request) string { return "login" })))
	if err != nil {
		return nil, nil, err
	}
	return global, login, nil
}

// publicStack is what every request but the probes goes through, in
// order: load shedding, CORS (when configured), the body limit and the
// global rate limit.
func (a *service) publicStack(global *ratelimit.Limiter) ([]func(http.Handler) http.Handler, error) {
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
			AllowCredentials: !slices.Contains(cfg.CORSAllowOrigins, "*"),
		})
		if err != nil {
			return nil, fmt.Errorf("CORS_ALLOW_ORIGINS: %w", err)
		}
		stack = append(stack, cors.Handler)
	}
	return append(stack, bodyLimit(maxBodyBytes), global.Handler), nil
}

// newCompressor returns the response compression of the routes whose
// bodies are worth it (the user list, the export, the OpenAPI document):
// gzip, or zstd for clients that prefer it, for bodies of at least 1 KiB,
// at the fastest level (nginx's default for dynamic responses too). It is
// per route rather than global so that the user list's cache can sit
// outside it and keep pages compressed: a hit is served as stored, not
// compressed again (compression was a third of the CPU of a cached read
// when it ran on every response).
func newCompressor() (func(http.Handler) http.Handler, error) {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(1024), gzhttp.CompressionLevel(gzip.BestSpeed))
	if err != nil {
		return nil, err
	}
	return func(h http.Handler) http.Handler { return wrap(h) }, nil
}

// mountAPI mounts the authentication routes, the users API and the export.
//
// Routing comes before authentication: the token and role checks wrap each
// route of the group below, not a prefix, so a path that is not a route
// answers 404 and a method a route does not serve 405 with Allow, with or
// without a token. The routes are no secret (GET /openapi.yaml lists them),
// and a client told 401 for a typo would look for the fault in its token.
// Every route in the group is authenticated: a route added to it cannot be
// left open by mistake.
func (a *service) mountAPI(r chi.Router, loginLimit *ratelimit.Limiter) {
	r.With(loginLimit.Handler).Post("/auth/login", a.handleLogin)
	r.Post("/auth/refresh", a.handleRefresh)
	r.With(a.auth.Optional).Post("/auth/logout", a.handleLogout)
	r.With(a.compress).Get("/openapi.yaml", serveOpenAPI)
	r.Group(func(r chi.Router) {
		r.Use(a.auth.Handler, a.setUserID)
		// The list is cached (per user, compressed) by the service and may
		// be kept briefly by the client; everything else is never stored.
		r.With(a.caches.list).Get("/api/v1/users", a.handleListUsers)
		r.With(securehdr.NoStore).Get("/api/v1/users/{id}", a.handleGetUser)
		r.With(securehdr.NoStore, a.auth.RequireRole(roleAdmin)).Post("/api/v1/users", a.handleCreateUser)
		r.With(a.auth.RequireRole(roleAdmin), a.compress).Get("/export/users.csv", a.handleExportUsers)
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
				(m == http.MethodHead && slices.Contains(allow, http.MethodGet)) {
				allow = append(allow, m)
			}
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	writeProblem(w, http.StatusMethodNotAllowed, "")
}
