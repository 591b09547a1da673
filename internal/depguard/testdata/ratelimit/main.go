// Tiny program: ratelimit with its in-memory store on a ServeMux.
package main

import (
	"log"
	"net/http"

	"github.com/covetgo/covet/ratelimit"
)

func main() {
	store, err := ratelimit.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	l, err := ratelimit.New(store, ratelimit.PerSecond(10))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hi")) })
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", l.Handler(mux)))
}
