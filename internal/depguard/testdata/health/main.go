// Tiny program: health with one plain check, served on a ServeMux.
package main

import (
	"context"
	"log"
	"net/http"

	"github.com/covetgo/covet/health"
)

func main() {
	c, err := health.New(health.WithCheck("disk", func(context.Context) error { return nil }))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /live", c.Liveness())
	mux.Handle("GET /ready", c.Readiness())
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
