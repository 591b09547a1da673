package pgcopy_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"

	"github.com/covetgo/covet/stream"
	"github.com/covetgo/covet/stream/pgcopy"
	"github.com/covetgo/covet/testenv"
)

// A CSV download served by COPY. The query is a constant: COPY cannot
// take parameters. It runs against the PostgreSQL of DATABASE_URL.
func ExampleExport() {
	db, err := sqlx.Open("pgx", testenv.DatabaseURL())
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	exp, err := stream.New(stream.WithFilename("numbers.csv"), stream.WithHeader(map[string]string{"n": "number"}))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /numbers.csv", func(w http.ResponseWriter, r *http.Request) {
		_ = pgcopy.Export(exp, w, r, db, "SELECT n, '=' || n AS formula FROM generate_series(1, 3) n")
	})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/numbers.csv", nil))
	fmt.Println(rec.Header().Get("Content-Disposition"))
	fmt.Print(rec.Body)
	// Output:
	// attachment; filename="numbers.csv"
	// number,formula
	// 1,'=1
	// 2,'=2
	// 3,'=3
}
