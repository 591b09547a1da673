package chiroute_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/chiroute"
)

// chi's own RequestID middleware replaces the request after the metrics
// middleware; the route pattern is still found.
func Example() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.WithRouter(chiroute.Router{}))
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Use(m.Handler, middleware.RequestID)
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/users/42", nil))

	h, err := metrics.Handler(reg)
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "http_requests_total{") {
			fmt.Println(sc.Text())
		}
	}
	// Output: http_requests_total{endpoint="/users/{id}",method="GET",outcome="completed",status="200"} 1
}
