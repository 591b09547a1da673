package stream

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/jmoiron/sqlx"
)

// A client that goes away mid-export cancels the query: the server-side
// backend stops running it, as pg_stat_activity shows.
func TestClientDisconnectCancelsQuery(t *testing.T) {
	pg := testenv.NewPostgres(t)
	e, err := New(WithFlush(1, 512), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]func(w http.ResponseWriter, r *http.Request, marker string){
		"query": func(w http.ResponseWriter, r *http.Request, marker string) {
			_ = e.Query(w, r, pg.DB, "SELECT g, pg_sleep(0.002) FROM generate_series(1, 1000000) g /* "+marker+" */")
		},
		"copy": func(w http.ResponseWriter, r *http.Request, marker string) {
			_ = e.Copy(w, r, pg.DB, "SELECT g, pg_sleep(0.002) FROM generate_series(1, 1000000) g /* "+marker+" */")
		},
	}
	for name, run := range paths {
		t.Run(name, func(t *testing.T) {
			marker := "covet-stream-" + name + "-" + testenv.RandomID(4)
			done := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				run(w, r, marker)
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // before srv.Close, so a failed test still ends the handler
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			// Read the header row and a few rows: the query is running.
			br := bufio.NewReader(resp.Body)
			for range 3 {
				if _, err := br.ReadString('\n'); err != nil {
					t.Fatal(err)
				}
			}
			if n := activeQueries(t, pg.DB, marker); n != 1 {
				t.Fatalf("active queries before disconnect = %d; want 1", n)
			}
			cancel() // the client goes away
			resp.Body.Close()
			<-done
			deadline := time.Now().Add(10 * time.Second)
			for activeQueries(t, pg.DB, marker) != 0 {
				if time.Now().After(deadline) {
					t.Fatal("query still active 10s after the client left")
				}
				time.Sleep(20 * time.Millisecond) // polling the server's view
			}
		})
	}
}

func activeQueries(t *testing.T, db *sqlx.DB, marker string) int {
	t.Helper()
	var n int
	err := db.Get(&n, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%/* "+marker+" */%' AND pid <> pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	return n
}
