package metrics_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	_ "modernc.org/sqlite" // the database/sql driver of ExampleRegisterDB

	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/chiroute"
)

// printSeries scrapes h and prints the lines of the named metric.
func printSeries(h http.Handler, name string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name+"{") {
			os.Stdout.WriteString(sc.Text() + "\n")
		}
	}
}

// With chi, add the middleware with Use and read chi's route patterns
// through chiroute: the endpoint label is the route pattern, whatever the
// path, even when middleware after this one replaces the request.
func Example() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.WithRouter(chiroute.Router{}))
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	for _, path := range []string{"/users/1", "/users/2", "/wp-login.php"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}

	metricsHandler, err := metrics.Handler(reg)
	if err != nil {
		log.Fatal(err)
	}
	printSeries(metricsHandler, "http_requests_total")
	// Output:
	// http_requests_total{endpoint="/users/{id}",method="GET",outcome="completed",status="200"} 2
	// http_requests_total{endpoint="unmatched",method="GET",outcome="completed",status="404"} 1
}

// Around the standard ServeMux, wrap the mux itself; the method prefix of
// the pattern is dropped because the method has its own label. A made-up
// method counts as OTHER, and the 405 ServeMux answers it with matched no
// route.
func Example_serveMux() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	h := m.Handler(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/orders/9/cancel", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/orders/9/cancel", nil))

	metricsHandler, err := metrics.Handler(reg)
	if err != nil {
		log.Fatal(err)
	}
	printSeries(metricsHandler, "http_requests_total")
	// Output:
	// http_requests_total{endpoint="/orders/{id}/cancel",method="POST",outcome="completed",status="202"} 1
	// http_requests_total{endpoint="unmatched",method="OTHER",outcome="completed",status="405"} 1
}

// The access log writes one line per request. Here the time, duration and
// generated request ID are dropped to keep the output stable.
func ExampleNewAccessLog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "duration_ms", "request_id":
				return slog.Attr{}
			}
			return a
		},
	}))
	al, err := metrics.NewAccessLog(logger)
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(al.Handler)
	r.Get("/files/{name}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found", http.StatusNotFound)
	})
	req := httptest.NewRequest(http.MethodGet, "/files/a.txt?token=secret&v=2", nil)
	req.RemoteAddr = "192.0.2.10:53211"
	req.Header.Set("Authorization", "Bearer never-logged")
	r.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// level=WARN msg="http request" method=GET route=/files/{name} path=/files/a.txt query="token=REDACTED&v=2" status=404 bytes=10 client_ip=192.0.2.10
}

// Authentication middleware inside the access log reports the user; the
// log line, written by the outer middleware, includes it.
func ExampleWithUserID() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "duration_ms", "request_id", "client_ip", "bytes", "path", "level", "method":
				return slog.Attr{}
			}
			return a
		},
	}))
	al, err := metrics.NewAccessLog(logger)
	if err != nil {
		log.Fatal(err)
	}
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// ... verify credentials ...
			next.ServeHTTP(w, r.WithContext(metrics.WithUserID(r.Context(), "user-42")))
		})
	}
	h := al.Handler(auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/me", nil))
	// Output:
	// msg="http request" route=unmatched status=200 user_id=user-42
}

// New with WithLogger records the metrics and writes the access log line
// from one measurement; WithTraceID adds exemplars and the trace_id field.
func ExampleWithLogger() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "duration_ms", "request_id":
				return slog.Attr{} // changing: left out of the output
			}
			return a
		},
	}))
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg,
		metrics.WithLogger(logger),
		metrics.WithTraceID(func(ctx context.Context) string {
			return "4bf92f3577b34da6a3ce929d0e0e4736" // e.g. trace.SpanContextFromContext(ctx).TraceID().String()
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {})
	req := httptest.NewRequest(http.MethodGet, "/health", nil)
	req.RemoteAddr = "192.0.2.10:53211"
	m.Handler(mux).ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// level=INFO msg="http request" method=GET route=/health path=/health status=200 bytes=0 client_ip=192.0.2.10 trace_id=4bf92f3577b34da6a3ce929d0e0e4736
}

func ExampleRequestID() {
	h := metrics.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(metrics.RequestIDFromContext(r.Context())))
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Request-ID", "edge-7f3a")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	os.Stdout.WriteString(w.Body.String() + " " + w.Header().Get("X-Request-ID") + "\n")
	// Output:
	// edge-7f3a edge-7f3a
}

// Serve the registry on an internal listener, with the Go runtime and
// process collectors.
func ExampleHandler() {
	reg := prometheus.NewRegistry()
	h, err := metrics.Handler(reg, metrics.WithGoCollector(), metrics.WithProcessCollector())
	if err != nil {
		log.Fatal(err)
	}
	internal := http.NewServeMux()
	internal.Handle("GET /metrics", h)
	// go http.ListenAndServe("127.0.0.1:9090", internal)

	w := httptest.NewRecorder()
	internal.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	fmt.Println(w.Code, strings.Contains(w.Body.String(), "go_goroutines"))
	// Output: 200 true
}

// Pool statistics of any database/sql pool, here an in-memory SQLite
// database (the driver's import registers "sqlite").
func ExampleRegisterDB() {
	reg := prometheus.NewRegistry()
	db, err := sql.Open("sqlite", ":memory:") // any database/sql pool
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := metrics.RegisterDB(reg, db, "app"); err != nil {
		log.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "go_sql_max_open_connections" {
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetLabel()[0].GetValue())
		}
	}
	// Output: go_sql_max_open_connections app
}

func ExampleNewWebSocketGauge() {
	reg := prometheus.NewRegistry()
	active, err := metrics.NewWebSocketGauge(reg)
	if err != nil {
		log.Fatal(err)
	}
	value := func() float64 {
		var m dto.Metric
		_ = active.Write(&m)
		return m.GetGauge().GetValue()
	}
	handler := func(w http.ResponseWriter, r *http.Request) {
		// conn, err := upgrader.Upgrade(w, r, nil) ...
		active.Inc()
		defer active.Dec()
		// ... serve the connection ...
		fmt.Println("open:", value())
	}
	handler(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ws", nil))
	fmt.Println("after:", value())
	// Output:
	// open: 1
	// after: 0
}
