// Command server exports the active rows of the benchmark users table over
// HTTP, for run.sh:
//
//	/query   stream.Exporter.Query (database/sql rows, typed formatting)
//	/copy    pgcopy.Export (PostgreSQL COPY, rewritten on the fly)
//	/naive   sqlx Queryx + encoding/csv, flushed every 1000 rows
//	/offset  OFFSET batches of 1000 with encoding/csv (?limit=N rows)
//
// It reads DATABASE_URL and TABLE, and listens on -addr.
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/covetgo/covet/pool"
	"github.com/covetgo/covet/stream"
	"github.com/covetgo/covet/stream/pgcopy"
	"github.com/jmoiron/sqlx"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8099", "listen address")
	flag.Parse()
	table := os.Getenv("TABLE")
	if table == "" {
		table = "stream_bench.users"
	}
	cfg, err := pool.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	db, err := pool.Open(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	exp, err := stream.New(stream.WithFilename("users.csv"))
	if err != nil {
		log.Fatal(err)
	}
	query := "SELECT id, username, email, created_at FROM " + table + " WHERE status = 'active'"

	mux := http.NewServeMux()
	mux.HandleFunc("/query", func(w http.ResponseWriter, r *http.Request) { _ = exp.Query(w, r, db, query) })
	mux.HandleFunc("/copy", func(w http.ResponseWriter, r *http.Request) { _ = pgcopy.Export(exp, w, r, db, query) })
	mux.HandleFunc("/naive", func(w http.ResponseWriter, r *http.Request) { naive(w, r, db, query) })
	mux.HandleFunc("/offset", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset(w, r, db, query+" ORDER BY id", limit)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// naive is the common hand-written export: Queryx, Scan into strings and
// encoding/csv, flushing every 1000 rows.
func naive(w http.ResponseWriter, r *http.Request, db *sqlx.DB, query string) {
	rows, err := db.QueryxContext(r.Context(), query)
	if err != nil {
		http.Error(w, "query failed", http.StatusInternalServerError)
		return
	}
	defer rows.Close()
	w.Header().Set("Content-Type", "text/csv")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "username", "email", "created_at"})
	var id int64
	var username, email string
	var created time.Time
	n := 0
	for rows.Next() {
		if err := rows.Scan(&id, &username, &email, &created); err != nil {
			return
		}
		_ = cw.Write([]string{strconv.FormatInt(id, 10), username, email, created.Format(time.RFC3339Nano)})
		if n++; n%1000 == 0 {
			cw.Flush()
		}
	}
	cw.Flush()
}

// offset is the guide's export: batches of 1000 fetched with LIMIT/OFFSET,
// each re-reading every row before it.
func offset(w http.ResponseWriter, r *http.Request, db *sqlx.DB, query string, limit int) {
	type row struct {
		ID        int64     `db:"id"`
		Username  string    `db:"username"`
		Email     string    `db:"email"`
		CreatedAt time.Time `db:"created_at"`
	}
	w.Header().Set("Content-Type", "text/csv")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "username", "email", "created_at"})
	for off := 0; limit <= 0 || off < limit; off += 1000 {
		var batch []row
		if err := db.SelectContext(r.Context(), &batch, query+" LIMIT 1000 OFFSET "+strconv.Itoa(off)); err != nil {
			return
		}
		for _, u := range batch {
			_ = cw.Write([]string{strconv.FormatInt(u.ID, 10), u.Username, u.Email, u.CreatedAt.Format(time.RFC3339Nano)})
		}
		cw.Flush()
		if len(batch) < 1000 {
			return
		}
	}
}
