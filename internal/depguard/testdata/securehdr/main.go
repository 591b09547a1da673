// Tiny program: securehdr's security headers around a ServeMux.
package main

import (
	"log"
	"net/http"

	"github.com/covetgo/covet/securehdr"
)

func main() {
	h, err := securehdr.New(securehdr.Config{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hi")) })
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h.Handler(mux)))
}
