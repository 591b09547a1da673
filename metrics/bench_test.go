package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

type benchKey struct{}

func benchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
}

func runBench(b *testing.B, h http.Handler, path string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, path, nil)
			h.ServeHTTP(w, r)
		}
	})
}

func BenchmarkMiddleware(b *testing.B) {
	b.Run("bare", func(b *testing.B) { runBench(b, benchHandler(), "/users/42") })
	b.Run("handler", func(b *testing.B) {
		m, err := New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		runBench(b, m.Handler(benchHandler()), "/users/42")
	})
	b.Run("chi", func(b *testing.B) {
		m, err := New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		r := chi.NewRouter()
		r.Use(m.Handler)
		r.Get("/users/{id}", benchHandler().ServeHTTP)
		runBench(b, r, "/users/42")
	})
	b.Run("chi-nested", func(b *testing.B) {
		// A sub-router: the route is joined from two patterns per request,
		// "/api/v1/*" and "/users/{userID}/orders/{orderID}" (40 bytes).
		m, err := New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		r := chi.NewRouter()
		r.Use(m.Handler)
		r.Route("/api/v1", func(r chi.Router) {
			r.Get("/users/{userID}/orders/{orderID}", benchHandler().ServeHTTP)
		})
		runBench(b, r, "/api/v1/users/42/orders/7")
	})
	b.Run("servemux", func(b *testing.B) {
		m, err := New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /users/{id}", benchHandler())
		runBench(b, m.Handler(mux), "/users/42")
	})
	b.Run("chi-router", func(b *testing.B) {
		m, err := New(prometheus.NewRegistry(), WithRouter(chiRouter{}))
		if err != nil {
			b.Fatal(err)
		}
		r := chi.NewRouter()
		r.Use(m.Handler)
		r.Get("/users/{id}", benchHandler().ServeHTTP)
		runBench(b, r, "/users/42")
	})
	b.Run("servemux-replaced", func(b *testing.B) {
		// A request-replacing middleware between: the pattern comes from
		// a second route lookup (WithServeMux).
		mux := http.NewServeMux()
		mux.Handle("GET /users/{id}", benchHandler())
		m, err := New(prometheus.NewRegistry(), WithServeMux(mux))
		if err != nil {
			b.Fatal(err)
		}
		replace := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), benchKey{}, 1)))
		})
		runBench(b, m.Handler(replace), "/users/42")
	})
	b.Run("metrics+log", func(b *testing.B) {
		m, err := New(prometheus.NewRegistry(), WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
		if err != nil {
			b.Fatal(err)
		}
		runBench(b, m.Handler(benchHandler()), "/users/42")
	})
}
