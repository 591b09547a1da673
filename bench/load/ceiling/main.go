// Command ceiling serves the example service's read routes with nothing but
// chi and sqlx: no middleware, authentication, cache, metrics or security
// headers. Loaded the same way as the example, it is the limit the example
// is measured against.
//
//	ceiling -addr 127.0.0.1:0 -db sqlite:///path/covet.db   (or postgres://…)
//
// It prints "listening on ADDR" once it accepts connections.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"
)

// user is a row as the example returns it to an admin.
type user struct {
	ID        int64     `db:"id" json:"id"`
	Username  string    `db:"username" json:"username"`
	Email     string    `db:"email" json:"email"`
	Bio       string    `db:"bio" json:"bio"`
	Status    string    `db:"status" json:"status"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

const cols = "id, username, email, bio, status, created_at"

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	dsn := flag.String("db", "", "sqlite:///path or postgres:// URL")
	flag.Parse()
	db, err := open(*dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
	defer db.Close()

	r := chi.NewRouter()
	r.Get("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"pass"}`))
	})
	r.Get("/ready", func(w http.ResponseWriter, r *http.Request) {
		if err := db.PingContext(r.Context()); err != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"pass"}`))
	})
	r.Get("/api/v1/users", func(w http.ResponseWriter, r *http.Request) {
		limit, after := 50, int64(0)
		if v := r.URL.Query().Get("limit"); v != "" {
			limit, _ = strconv.Atoi(v)
		}
		if v := r.URL.Query().Get("after"); v != "" {
			after, _ = strconv.ParseInt(v, 10, 64)
		}
		var out []user
		if err := db.SelectContext(r.Context(), &out, db.Rebind("SELECT "+cols+" FROM users WHERE id > ? ORDER BY id LIMIT ?"), after, limit); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		page := struct {
			Users     []user `json:"users"`
			NextAfter *int64 `json:"next_after,omitempty"`
		}{Users: out}
		if len(out) == limit {
			page.NextAfter = &out[len(out)-1].ID
		}
		writeJSON(w, page)
	})
	r.Get("/api/v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
		var u user
		if err := db.GetContext(r.Context(), &u, db.Rebind("SELECT "+cols+" FROM users WHERE id = ?"), id); err != nil {
			http.Error(w, "no such user", http.StatusNotFound)
			return
		}
		writeJSON(w, u)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	fmt.Println("listening on", ln.Addr())
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func open(dsn string) (*sqlx.DB, error) {
	var db *sqlx.DB
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		// Read-write, though it only reads: a read-only open of a WAL database
		// fails when no other connection holds its shared-memory file.
		db, err = sqlx.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err == nil {
			db.SetMaxOpenConns(4)
		}
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = sqlx.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(10)
			db.SetMaxIdleConns(10)
		}
	default:
		return nil, fmt.Errorf("-db %q: want sqlite:// or postgres://", dsn)
	}
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db, db.PingContext(ctx)
}
