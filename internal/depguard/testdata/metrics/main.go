// Tiny program: metrics middleware and /metrics on a ServeMux (no chi).
package main

import (
	"log"
	"net/http"

	"github.com/covetgo/covet/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

func main() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	h, err := metrics.Handler(reg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hi")) })
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}
