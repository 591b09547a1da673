package pgcopy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"

	"github.com/covetgo/covet/stream"
	"github.com/covetgo/covet/stream/pgcopy"
	"github.com/covetgo/covet/testenv"
)

// awkward holds values the COPY path must export exactly as Query does.
var awkward = []struct {
	id int
	s  any
}{
	{1, `a "quoted", value`},
	{2, "line1\nline2"},
	{3, nil},
	{4, ""},
	{5, "unicode ✓ é 日本"},
	{6, "=1+1"},
	{7, "-12.5"},
	{8, "-1+2"},
	{9, "@SUM(A1)"},
	{10, "\tTab"},
	{11, "＝1+1"},
	{12, "\r\nx"},
	{13, "NULL"},
}

const awkwardCSV = "id,s\n" +
	"1,\"a \"\"quoted\"\", value\"\n" +
	"2,\"line1\nline2\"\n" +
	"3,\n" +
	"4,\"\"\n" +
	"5,unicode ✓ é 日本\n" +
	"6,'=1+1\n" +
	"7,-12.5\n" +
	"8,'-1+2\n" +
	"9,'@SUM(A1)\n" +
	"10,'\tTab\n" +
	"11,'＝1+1\n" +
	"12,\"'\r\nx\"\n" +
	"13,NULL\n"

func fillAwkward(t *testing.T, db *sqlx.DB) {
	t.Helper()
	db.MustExec("CREATE TABLE awkward (id integer PRIMARY KEY, s text)")
	for _, a := range awkward {
		db.MustExec("INSERT INTO awkward (id, s) VALUES ($1, $2)", a.id, a.s)
	}
}

func request() *http.Request { return httptest.NewRequest(http.MethodGet, "/export", nil) }

func mustNew(t *testing.T, opts ...stream.Option) *stream.Exporter {
	t.Helper()
	e, err := stream.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExportAwkwardValues(t *testing.T) {
	pg := testenv.NewPostgres(t)
	fillAwkward(t, pg.DB)
	e := mustNew(t)
	w := httptest.NewRecorder()
	if err := pgcopy.Export(e, w, request(), pg.DB, "SELECT id, s FROM awkward ORDER BY id -- all of them\n;"); err != nil {
		t.Fatalf("Export: %v", err)
	}
	if got := w.Body.String(); got != awkwardCSV {
		t.Errorf("body:\n%q\nwant:\n%q", got, awkwardCSV)
	}
	if got := w.Header().Get("Content-Disposition"); got != `attachment; filename="export.csv"` {
		t.Errorf("Content-Disposition = %q", got)
	}
	// Renamed header, NULL token, raw column.
	e = mustNew(t, stream.WithHeader(map[string]string{"s": "value"}), stream.WithNull("NULL"), stream.WithRawColumns("s"))
	w = httptest.NewRecorder()
	if err := pgcopy.Export(e, w, request(), pg.DB, "SELECT id, s FROM awkward WHERE id IN (3, 6, 13) ORDER BY id"); err != nil {
		t.Fatalf("Export: %v", err)
	}
	if got, want := w.Body.String(), "id,value\n3,NULL\n6,=1+1\n13,\"NULL\"\n"; got != want {
		t.Errorf("body = %q; want %q", got, want)
	}
}

func TestExportTimeLimit(t *testing.T) {
	pg := testenv.NewPostgres(t)
	e := mustNew(t, stream.WithMaxDuration(50*time.Millisecond))
	w := httptest.NewRecorder()
	err := pgcopy.Export(e, w, request(), pg.DB, "SELECT pg_sleep(5)")
	if !errors.Is(err, stream.ErrTimeLimit) || w.Code != http.StatusGatewayTimeout {
		t.Fatalf("Export = %v, %d; want ErrTimeLimit, 504", err, w.Code)
	}
}

// aborted runs f and reports whether it aborted with http.ErrAbortHandler.
func aborted(f func()) (ok bool) {
	defer func() { ok = recover() == http.ErrAbortHandler }()
	f()
	return false
}

func TestExportMidStreamErrorAborts(t *testing.T) {
	pg := testenv.NewPostgres(t)
	var logs bytes.Buffer
	e := mustNew(t, stream.WithFlush(2, 512), stream.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), stream.WithMaxRows(10))
	// Division by zero at row 5, after two flushes.
	w := httptest.NewRecorder()
	if !aborted(func() {
		_ = pgcopy.Export(e, w, request(), pg.DB, "SELECT g, 10 / (5 - g) AS q FROM generate_series(1, 10) g")
	}) {
		t.Fatal("Export did not abort after the first byte")
	}
	if !strings.HasPrefix(w.Body.String(), "g,q\n1,2\n") || !strings.Contains(logs.String(), "22012") {
		t.Errorf("sent %q, logged %q", w.Body.String(), logs.String())
	}
	if !aborted(func() {
		_ = pgcopy.Export(e, httptest.NewRecorder(), request(), pg.DB, "SELECT g FROM generate_series(1, 100) g")
	}) {
		t.Fatal("Export over the row limit did not abort")
	}
}

func TestExportRefused(t *testing.T) {
	lite, err := sqlx.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	csv := mustNew(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		e    *stream.Exporter
		db   pgcopy.Conner
		r    *http.Request
		want error
		code int
	}{
		{"sqlite", csv, lite, request(), pgcopy.ErrNotPostgres, 500},
		{"ndjson", mustNew(t, stream.WithFormat(stream.NDJSON)), lite, request(), stream.ErrInvalidConfig, 500},
		{"nil exporter", nil, lite, request(), pgcopy.ErrInvalidConfig, 200},
		{"nil db", csv, (*sqlx.DB)(nil), request(), pgcopy.ErrInvalidConfig, 500},
		{"gone client", csv, lite, request().WithContext(cancelled), stream.ErrAborted, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := pgcopy.Export(tt.e, w, tt.r, tt.db, "SELECT 1")
			if !errors.Is(err, tt.want) || w.Code != tt.code {
				t.Errorf("Export = %v, %d; want %v, %d", err, w.Code, tt.want, tt.code)
			}
			if tt.name == "nil db" && !strings.Contains(err.Error(), "nil db") {
				t.Errorf("Export = %v; want the argument named", err)
			}
		})
	}
}

// A client that goes away mid-COPY ends the COPY on the server.
func TestExportClientDisconnect(t *testing.T) {
	pg := testenv.NewPostgres(t)
	e := mustNew(t, stream.WithFlush(1, 512), stream.WithLogger(slog.New(slog.DiscardHandler)))
	marker := "covet-pgcopy-" + testenv.RandomID(4)
	result := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		result <- pgcopy.Export(e, w, r, pg.DB, "SELECT g, pg_sleep(0.002) FROM generate_series(1, 1000000) g /* "+marker+" */")
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for range 3 {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	resp.Body.Close()
	if err := <-result; !errors.Is(err, stream.ErrAborted) || !errors.Is(err, context.Canceled) {
		t.Errorf("Export = %v; want ErrAborted and context.Canceled", err)
	}
	if d, ok := queryEnds(t, pg.DB, marker, 5*time.Second); !ok {
		t.Error("COPY still active 5s after the handler returned")
	} else {
		t.Logf("COPY ended on the server within %v of the handler's return", d)
	}
}

// queryEnds polls the server's view until no active query carries marker,
// reporting how long that took and false if it took longer than bound.
func queryEnds(t *testing.T, db *sqlx.DB, marker string, bound time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		var n int
		err := db.Get(&n, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%/* "+marker+" */%' AND pid <> pg_backend_pid()")
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return time.Since(start), true
		}
		if time.Since(start) > bound {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond) // polling the server's view, not waiting for our own code
	}
}
