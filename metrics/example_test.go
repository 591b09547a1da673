package metrics_test

import (
	"bufio"
	"context"
	"database/sql"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/testenv"
	"github.com/go-chi/chi/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/prometheus/client_golang/prometheus"
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

// With chi, add the middleware with Use: the endpoint label is the route
// pattern, whatever the path.
func Example() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
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
	// http_requests_total{endpoint="/users/{id}",method="GET",status="200"} 2
	// http_requests_total{endpoint="unmatched",method="GET",status="404"} 1
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
	// http_requests_total{endpoint="/orders/{id}/cancel",method="POST",status="202"} 1
	// http_requests_total{endpoint="unmatched",method="OTHER",status="405"} 1
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
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg,
		metrics.WithLogger(slog.Default()),
		metrics.WithTraceID(func(ctx context.Context) string {
			return "" // e.g. trace.SpanContextFromContext(ctx).TraceID().String()
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(m.Handler)
	_ = r
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

func ExampleHandler() {
	reg := prometheus.NewRegistry()
	h, err := metrics.Handler(reg, metrics.WithGoCollector(), metrics.WithProcessCollector())
	if err != nil {
		log.Fatal(err)
	}
	internal := http.NewServeMux()
	internal.Handle("GET /metrics", h)
}

// Pool statistics of a database/sql pool, here PostgreSQL through pgx's
// driver (its import registers "pgx"); the URL is DATABASE_URL's, or the
// local test server's.
func ExampleRegisterDB() {
	reg := prometheus.NewRegistry()
	db, err := sql.Open("pgx", testenv.DatabaseURL()) // any database/sql pool
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	if err := metrics.RegisterDB(reg, db, "app"); err != nil {
		log.Fatal(err)
	}
	h, err := metrics.Handler(reg)
	if err != nil {
		log.Fatal(err)
	}
	printSeries(h, "go_sql_max_open_connections")
	// Output:
	// go_sql_max_open_connections{db_name="app"} 4
}

func ExampleNewWebSocketGauge() {
	reg := prometheus.NewRegistry()
	active, err := metrics.NewWebSocketGauge(reg)
	if err != nil {
		log.Fatal(err)
	}
	_ = func(w http.ResponseWriter, r *http.Request) {
		// conn, err := upgrader.Upgrade(w, r, nil) ...
		active.Inc()
		defer active.Dec()
		// ... serve the connection ...
	}
}
