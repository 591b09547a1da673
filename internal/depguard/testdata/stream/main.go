// Tiny program: stream sqlx rows to CSV (no COPY). The database/sql driver is
// the user's own choice and is not imported here.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/covetgo/covet/stream"
	"github.com/jmoiron/sqlx"
)

func main() {
	db, err := sqlx.Open(os.Getenv("SQL_DRIVER"), os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	e, err := stream.New()
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /export.csv", func(w http.ResponseWriter, r *http.Request) {
		_ = e.Query(w, r, db, "select id, name from users order by id")
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
