package metrics_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/securehdr"
)

// A service on the standard ServeMux behind a load balancer in 10.0.0.0/8:
// client addresses from X-Forwarded-For, metrics and the access log,
// security headers and a rate limit per client. Request-replacing
// middleware sits between metrics and the mux, so metrics is told which
// mux to ask for the route pattern.
func Example_serveMuxComposition() {
	trusted := []string{"10.0.0.0/8"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user %s\n", r.PathValue("id"))
	})

	ips, err := clientip.New(trusted)
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "duration_ms", "request_id":
				return slog.Attr{} // changing: left out of the output
			}
			return a
		},
	}))
	m, err := metrics.New(reg, metrics.WithServeMux(mux), metrics.WithLogger(logger))
	if err != nil {
		panic(err)
	}
	headers, err := securehdr.New(securehdr.Config{TrustedProxies: trusted})
	if err != nil {
		panic(err)
	}
	store, err := ratelimit.NewMemoryStore()
	if err != nil {
		panic(err)
	}
	limit, err := ratelimit.New(store, ratelimit.PerMinute(600)) // keyed by clientip.Addr
	if err != nil {
		panic(err)
	}
	// Outermost first: the client address, then metrics and the access log
	// (which record it), headers, the limit, the routes.
	handler := ips.Handler(m.Handler(headers.Handler(limit.Handler(mux))))
	// http.ListenAndServe(":8080", handler); serve /metrics from
	// metrics.Handler(reg) on an internal listener.

	r := httptest.NewRequest(http.MethodGet, "/users/42", nil)
	r.RemoteAddr = "10.0.0.7:50312"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Print(w.Body)
	// Output:
	// level=INFO msg="http request" method=GET route=/users/{id} path=/users/42 status=200 bytes=8 client_ip=203.0.113.9
	// user 42
}
