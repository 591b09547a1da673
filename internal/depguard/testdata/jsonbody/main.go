// Tiny program: jsonbody decodes a strict JSON request body on a ServeMux.
package main

import (
	"log"
	"net/http"

	"github.com/covetgo/covet/jsonbody"
)

type item struct {
	Name string `json:"name"`
}

func main() {
	d, err := jsonbody.New()
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		var it item
		if err := d.Decode(r, &it); err != nil {
			jsonbody.WriteError(w, err)
			return
		}
		w.Write([]byte(it.Name))
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
