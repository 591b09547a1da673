package stream

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/jmoiron/sqlx"
)

// A client that goes away mid-export stops the query: the handler gets an
// error it can branch on (ErrAborted, context.Canceled), and the server-side
// backend stops running the query, as pg_stat_activity shows.
func TestClientDisconnectStopsQuery(t *testing.T) {
	pg := testenv.NewPostgres(t)
	for _, format := range []Format{CSV, NDJSON} {
		name := map[Format]string{CSV: "csv", NDJSON: "ndjson"}[format]
		t.Run(name, func(t *testing.T) {
			e, err := New(WithFormat(format), WithFlush(1, 512), WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			// Many rows, each taking the server a little while: the
			// query runs for an hour unless it is stopped.
			marker := "covet-stream-" + name + "-" + testenv.RandomID(4)
			query := "SELECT g, pg_sleep(0.002) FROM generate_series(1, 2000000) g /* " + marker + " */"
			result := make(chan error, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				result <- e.Query(w, r, pg.DB, query)
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // before srv.Close, so a failed test still ends the handler
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			// Read a few lines: the query is running.
			br := bufio.NewReader(resp.Body)
			for range 3 {
				if _, err := br.ReadString('\n'); err != nil {
					t.Fatal(err)
				}
			}
			if n := activeQueries(t, pg.DB, marker); n != 1 {
				t.Fatalf("active queries before disconnect = %d; want 1", n)
			}
			left := time.Now()
			cancel() // the client goes away
			resp.Body.Close()
			select {
			case err = <-result:
			case <-time.After(10 * time.Second):
				t.Fatal("Query still running 10s after the client left")
			}
			if !errors.Is(err, ErrAborted) || !errors.Is(err, context.Canceled) {
				t.Errorf("Query = %v; want ErrAborted and context.Canceled", err)
			}
			returned := time.Since(left)
			ended, ok := queryEnds(t, pg.DB, marker, 5*time.Second)
			if !ok {
				t.Fatal("query still active on the server 5s after Query returned")
			}
			t.Logf("Query returned %v after the client left; the server's query ended %v later", returned, ended)
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

// queryEnds polls the server's view until no active query carries marker,
// reporting how long that took and false if it took longer than bound.
func queryEnds(t *testing.T, db *sqlx.DB, marker string, bound time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for activeQueries(t, db, marker) != 0 {
		if time.Since(start) > bound {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond) // polling the server's view, not waiting for our own code
	}
	return time.Since(start), true
}
