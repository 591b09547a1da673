// Tiny program: jwtauth with its in-memory refresh store (no Redis).
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/covetgo/covet/jwtauth"
)

func main() {
	key, err := jwtauth.HS256Key("k1", []byte(os.Getenv("JWT_SECRET")))
	if err != nil {
		log.Fatal(err)
	}
	ring, err := jwtauth.NewKeyRing(key)
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtauth.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	a, err := jwtauth.New[jwtauth.Claims](ring, jwtauth.WithRefreshStore(store))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hi")) })
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", a.Handler(mux)))
}
