// Tiny program: clientip resolves the client's address on a ServeMux.
package main

import (
	"log"
	"net/http"

	"github.com/covetgo/covet/clientip"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(clientip.Addr(r).String()))
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
