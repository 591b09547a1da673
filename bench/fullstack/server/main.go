// Command server serves one JSON route behind one of three middleware stacks,
// for the full-stack throughput comparison (run.sh drives it with wrk):
//
//	-mode bare    chi and the handler alone
//	-mode anchor  promhttp InstrumentHandler* + unrolled/secure + httprate + go-chi/jwtauth
//	-mode covet   metrics + securehdr + ratelimit + jwtauth
//	-mode headers chi and the handler, plus the response headers covet's
//	              stack sends, copied from slices built once: what sending
//	              those headers costs with no middleware at all (the floor
//	              for any stack that sends them)
//
// Every stack verifies the same HS256 token, sets the same security headers,
// counts the request against a per-IP limit far above the load, and records
// request count, duration, size and in-flight metrics. -token prints the
// token to send. -pprof ADDR serves net/http/pprof on a separate listener,
// outside every stack, for profiling a mode under load.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	chijwtauth "github.com/go-chi/jwtauth/v5"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/unrolled/secure"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/securehdr"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

const (
	issuer   = "covet-bench"
	audience = "api"
	limit    = 1_000_000_000 // per minute: never reached, always counted
)

func hello(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"message":"hello","ok":true}`))
}

func main() {
	mode := flag.String("mode", "bare", "bare, anchor or covet")
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	printToken := flag.Bool("token", false, "print a token every stack accepts and exit")
	pprofAddr := flag.String("pprof", "", "if set, serve net/http/pprof on this address")
	flag.Parse()

	auth := newCovetAuth()
	if *printToken {
		fmt.Println(token(auth))
		return
	}
	if *pprofAddr != "" {
		go servePprof(*pprofAddr)
	}
	h, err := newRouter(*mode, auth)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// token returns an access token every stack accepts.
func token(auth *jwtauth.Default) string {
	c := jwtauth.Claims{Username: "bench", Roles: []string{"user"}}
	c.Subject = "user-1"
	set, err := auth.Issue(context.Background(), c)
	if err != nil {
		log.Fatal(err)
	}
	return set.AccessToken
}

// newRouter returns the route behind the stack named by mode.
func newRouter(mode string, auth *jwtauth.Default) (http.Handler, error) {
	r := chi.NewRouter()
	switch mode {
	case "bare":
	case "anchor":
		anchorStack(r)
	case "covet":
		covetStack(r, auth)
	case "headers":
		if err := headersOnly(r, auth); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	r.Get("/api/hello", hello)
	return r, nil
}

// servePprof serves the profiling endpoints on their own mux, so the
// measured stacks never see them.
func servePprof(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Print(srv.ListenAndServe())
}

func newCovetAuth() *jwtauth.Default {
	key, err := jwtauth.HS256Key("k1", secret)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := jwtauth.NewKeyRing(key)
	if err != nil {
		log.Fatal(err)
	}
	// An hour: long enough for any run.
	a, err := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithIssuer(issuer), jwtauth.WithAudience(audience),
		jwtauth.WithAccessTTL(time.Hour), jwtauth.WithoutCookies())
	if err != nil {
		log.Fatal(err)
	}
	return a
}

const csp = "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"

func anchorStack(r chi.Router) {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total"}, []string{"method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Buckets: prometheus.DefBuckets}, []string{"method"})
	size := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_response_size_bytes", Buckets: prometheus.ExponentialBuckets(100, 10, 6)}, []string{})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "http_requests_in_flight"})
	reg.MustRegister(requests, duration, size, inflight)
	instrument := func(next http.Handler) http.Handler {
		return promhttp.InstrumentHandlerInFlight(inflight,
			promhttp.InstrumentHandlerDuration(duration,
				promhttp.InstrumentHandlerCounter(requests,
					promhttp.InstrumentHandlerResponseSize(size, next))))
	}
	sec := secure.New(secure.Options{
		ContentSecurityPolicy:         csp,
		FrameDeny:                     true,
		ContentTypeNosniff:            true,
		ReferrerPolicy:                "strict-origin-when-cross-origin",
		PermissionsPolicy:             "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
		CrossOriginOpenerPolicy:       "same-origin",
		CrossOriginResourcePolicy:     "same-origin",
		BrowserXssFilter:              true,
		CustomBrowserXssValue:         "0",
		XPermittedCrossDomainPolicies: "none",
	})
	ja := chijwtauth.New("HS256", secret, nil, jwt.WithIssuer(issuer), jwt.WithAudience(audience), jwt.WithAcceptableSkew(30*time.Second))
	r.Use(instrument, sec.Handler, middleware.ClientIPFromRemoteAddr, httprate.LimitBy(limit, time.Minute, clientIP), chijwtauth.Verifier(ja), chijwtauth.Authenticator(ja))
}

// clientIP keys httprate by the address chi's ClientIPFrom* middleware
// resolved, IPv6 grouped by /64: the trust model is stated by the middleware
// in front, here the direct peer as in covet's stack.
func clientIP(r *http.Request) (string, error) {
	return httprate.CanonicalizeIP(middleware.GetClientIP(r.Context())), nil
}

func covetStack(r chi.Router, auth *jwtauth.Default) {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		log.Fatal(err)
	}
	h, err := securehdr.New(securehdr.Config{Omit: []string{"Strict-Transport-Security"}})
	if err != nil {
		log.Fatal(err)
	}
	store, err := ratelimit.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	lim, err := ratelimit.New(store, ratelimit.PerMinute(limit))
	if err != nil {
		log.Fatal(err)
	}
	r.Use(m.Handler, h.Handler, lim.Handler, auth.Handler)
}

// headersOnly sends, on every response, the headers covet's stack sent on a
// sample response, from slices built once.
func headersOnly(r chi.Router, auth *jwtauth.Auth[jwtauth.Claims, *jwtauth.Claims]) error {
	ref, err := newRouter("covet", auth)
	if err != nil {
		return err
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/hello", nil)
	req.Header.Set("Authorization", "Bearer "+token(auth))
	ref.ServeHTTP(rec, req)
	var keys []string
	var vals [][]string
	for k, v := range rec.Header() {
		if k != "Content-Type" {
			keys, vals = append(keys, k), append(vals, v)
		}
	}
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			h := w.Header()
			for i, k := range keys {
				h[k] = vals[i]
			}
			next.ServeHTTP(w, req)
		})
	})
	return nil
}
