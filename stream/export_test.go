package stream

import (
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

	"github.com/covetgo/covet/testenv"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"
)

// awkward holds the values every backend must export exactly.
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

func fillAwkward(t *testing.T, db *sqlx.DB, placeholder string) {
	t.Helper()
	db.MustExec("CREATE TABLE awkward (id integer PRIMARY KEY, s text)")
	for _, a := range awkward {
		db.MustExec("INSERT INTO awkward (id, s) VALUES ("+placeholder+"1, "+placeholder+"2)", a.id, a.s)
	}
}

func sqliteDB(t *testing.T) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func request() *http.Request { return httptest.NewRequest(http.MethodGet, "/export", nil) }

func TestQueryAwkwardValues(t *testing.T) {
	pg := testenv.NewPostgres(t)
	fillAwkward(t, pg.DB, "$")
	lite := sqliteDB(t)
	fillAwkward(t, lite, "$")
	e, err := New(WithFilename("users ✓.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for name, db := range map[string]*sqlx.DB{"postgres": pg.DB, "sqlite": lite} {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := e.Query(w, request(), db, "SELECT id, s FROM awkward ORDER BY id"); err != nil {
				t.Fatalf("Query: %v", err)
			}
			if got := w.Body.String(); got != awkwardCSV {
				t.Errorf("body:\n%q\nwant:\n%q", got, awkwardCSV)
			}
			want := map[string]string{
				"Content-Type":           "text/csv; charset=utf-8; header=present",
				"Content-Disposition":    `attachment; filename="users _.csv"; filename*=UTF-8''users%20%E2%9C%93.csv`,
				"X-Content-Type-Options": "nosniff",
				"Cache-Control":          "no-store",
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q; want %q", k, got, v)
				}
			}
		})
	}
}

func TestCopyAwkwardValues(t *testing.T) {
	pg := testenv.NewPostgres(t)
	fillAwkward(t, pg.DB, "$")
	e, _ := New()
	w := httptest.NewRecorder()
	if err := e.Copy(w, request(), pg.DB, "SELECT id, s FROM awkward ORDER BY id -- all of them\n;"); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if got := w.Body.String(); got != awkwardCSV {
		t.Errorf("body:\n%q\nwant:\n%q", got, awkwardCSV)
	}
	if got := w.Header().Get("Content-Disposition"); got != `attachment; filename="export.csv"` {
		t.Errorf("Content-Disposition = %q", got)
	}
	// Renamed header, NULL token, raw column.
	e, _ = New(WithHeader(map[string]string{"s": "value"}), WithNull("NULL"), WithRawColumns("s"))
	w = httptest.NewRecorder()
	if err := e.Copy(w, request(), pg.DB, "SELECT id, s FROM awkward WHERE id IN (3, 6, 13) ORDER BY id"); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if got, want := w.Body.String(), "id,value\n3,NULL\n6,=1+1\n13,\"NULL\"\n"; got != want {
		t.Errorf("body = %q; want %q", got, want)
	}
}

func TestQueryTypedValues(t *testing.T) {
	pg := testenv.NewPostgres(t)
	e, _ := New(WithNull(`\N`), WithHeader(map[string]string{"f": "float"}))
	w := httptest.NewRecorder()
	err := e.Query(w, request(), pg.DB, `SELECT 1e20::float8 AS f, 0.25::float8 AS g, true AS b, NULL::int AS n,
		'2024-01-02 03:04:05.5+01'::timestamptz AS ts, '\x3d41'::bytea AS raw`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.Body.String(), "float,g,b,n,ts,raw\n100000000000000000000,0.25,true,\\N,2024-01-02T02:04:05.5Z,'=A\n"; got != want {
		t.Errorf("body = %q; want %q", got, want)
	}
}

func TestQueryNDJSON(t *testing.T) {
	lite := sqliteDB(t)
	fillAwkward(t, lite, "$")
	e, err := New(WithFormat(NDJSON), WithHeader(map[string]string{"s": "value"}))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	rows, err := lite.Queryx("SELECT id, s FROM awkward WHERE id IN (1, 3, 6) ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Rows(w, request(), rows); err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"value":"a \"quoted\", value"}` + "\n" + `{"id":3,"value":null}` + "\n" + `{"id":6,"value":"=1+1"}` + "\n"
	if got := w.Body.String(); got != want {
		t.Errorf("body = %q; want %q", got, want)
	}
	if ct, cd := w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"); ct != "application/x-ndjson" || cd != `attachment; filename="export.ndjson"` {
		t.Errorf("headers = %q, %q", ct, cd)
	}
	w = httptest.NewRecorder()
	if err := e.Query(w, request(), lite, "SELECT 1 WHERE 0"); err != nil || w.Body.Len() != 0 || w.Code != 200 {
		t.Errorf("empty NDJSON export = %v, %d %q", err, w.Code, w.Body.String())
	}
}

func TestErrorsBeforeFirstByte(t *testing.T) {
	lite := sqliteDB(t)
	fillAwkward(t, lite, "$")
	tests := []struct {
		name   string
		opts   []Option
		query  string
		status int
		want   error
	}{
		{"bad query", nil, "SELECT nope FROM missing", 500, nil},
		{"row limit", []Option{WithMaxRows(3)}, "SELECT id FROM awkward", 422, ErrRowLimit},
		{"scan error", nil, "SELECT id FROM awkward WHERE id = 1 UNION ALL SELECT abs(-9223372036854775807 - 1)", 500, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			err = e.Query(w, request(), lite, tt.query)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Query = %v; want %v", err, tt.want)
			}
			if w.Code != tt.status || w.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("status %d, type %q; want %d problem+json", w.Code, w.Header().Get("Content-Type"), tt.status)
			}
			if w.Header().Get("Content-Disposition") != "" || strings.Contains(w.Body.String(), "missing") {
				t.Errorf("problem response leaks: %v %q", w.Header(), w.Body.String())
			}
		})
	}
}

func TestTimeLimit(t *testing.T) {
	pg := testenv.NewPostgres(t)
	e, _ := New(WithMaxDuration(50 * time.Millisecond))
	w := httptest.NewRecorder()
	err := e.Query(w, request(), pg.DB, "SELECT pg_sleep(5)")
	if !errors.Is(err, ErrTimeLimit) || w.Code != http.StatusGatewayTimeout {
		t.Fatalf("Query = %v, %d; want ErrTimeLimit, 504", err, w.Code)
	}
	w = httptest.NewRecorder()
	err = e.Copy(w, request(), pg.DB, "SELECT pg_sleep(5)")
	if !errors.Is(err, ErrTimeLimit) || w.Code != http.StatusGatewayTimeout {
		t.Fatalf("Copy = %v, %d; want ErrTimeLimit, 504", err, w.Code)
	}
}

// abortRecorder runs f and reports whether it aborted with
// http.ErrAbortHandler.
func aborted(f func()) (ok bool) {
	defer func() { ok = recover() == http.ErrAbortHandler }()
	f()
	return false
}

func TestMidStreamErrorAborts(t *testing.T) {
	pg := testenv.NewPostgres(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	e, _ := New(WithFlush(2, 512), WithLogger(logger), WithMaxRows(10))
	// Division by zero at row 5, after two flushes.
	q := "SELECT g, 10 / (5 - g) AS q FROM generate_series(1, 10) g"
	w := httptest.NewRecorder()
	if !aborted(func() { _ = e.Query(w, request(), pg.DB, q) }) {
		t.Fatal("Query did not abort after the first byte")
	}
	if !strings.HasPrefix(w.Body.String(), "g,q\n1,2\n") || w.Code != 200 {
		t.Errorf("sent before the error: %d %q", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "22012") {
		t.Errorf("log = %q", logs.String())
	}
	w = httptest.NewRecorder()
	if !aborted(func() { _ = e.Copy(w, request(), pg.DB, q) }) {
		t.Fatal("Copy did not abort after the first byte")
	}
	// The row limit after the first byte aborts too, on both paths.
	w = httptest.NewRecorder()
	if !aborted(func() { _ = e.Copy(w, request(), pg.DB, "SELECT g FROM generate_series(1, 100) g") }) {
		t.Fatal("Copy over the row limit did not abort")
	}
	if !aborted(func() {
		_ = e.Query(httptest.NewRecorder(), request(), pg.DB, "SELECT g FROM generate_series(1, 100) g")
	}) {
		t.Fatal("Query over the row limit did not abort")
	}
	// Flushes on the byte threshold, and a failing writer.
	e2, _ := New(WithFlush(1000, 512), WithLogger(logger))
	if !aborted(func() {
		_ = e2.Query(failingWriter{httptest.NewRecorder()}, request(), pg.DB, "SELECT repeat('x', 600)")
	}) {
		t.Fatal("write failure did not abort")
	}
}

type failingWriter struct{ http.ResponseWriter }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestCopyNotPostgres(t *testing.T) {
	lite := sqliteDB(t)
	e, _ := New()
	w := httptest.NewRecorder()
	if err := e.Copy(w, request(), lite, "SELECT 1"); !errors.Is(err, ErrNotPostgres) || w.Code != 500 {
		t.Errorf("Copy on SQLite = %v, %d; want ErrNotPostgres, 500", err, w.Code)
	}
	e, _ = New(WithFormat(NDJSON))
	if err := e.Copy(httptest.NewRecorder(), request(), lite, "SELECT 1"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Copy as NDJSON = %v; want ErrInvalidConfig", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	e, _ = New()
	w = httptest.NewRecorder()
	if err := e.Copy(w, request().WithContext(cctx), lite, "SELECT 1"); !errors.Is(err, context.Canceled) || w.Body.Len() != 0 {
		t.Errorf("Copy for a gone client = %v, %q; want context.Canceled and no body", err, w.Body.String())
	}
}

func TestNewInvalid(t *testing.T) {
	tests := [][]Option{
		{WithFormat(Format(9))}, {WithNull(",")}, {WithFlush(0, 10)}, {WithMaxRows(0)},
		{WithMaxDuration(0)}, {WithWriteTimeout(-1)},
	}
	for i, opts := range tests {
		if _, err := New(opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%d: New = %v; want ErrInvalidConfig", i, err)
		}
	}
	called := false
	e, err := New(WithoutHeader(), WithWriteTimeout(time.Second), WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
		called = true
		w.WriteHeader(StatusOf(err))
	}))
	if err != nil {
		t.Fatal(err)
	}
	lite := sqliteDB(t)
	w := httptest.NewRecorder()
	_ = e.Query(w, request(), lite, "SELECT nope")
	if !called || w.Code != 500 {
		t.Errorf("custom error handler: called %v, status %d", called, w.Code)
	}
	w = httptest.NewRecorder()
	if err := e.Query(w, request(), lite, "SELECT 1 AS a"); err != nil || w.Body.String() != "1\n" || w.Header().Get("Content-Type") != "text/csv; charset=utf-8; header=absent" {
		t.Errorf("no header: %v %q %q", err, w.Body.String(), w.Header().Get("Content-Type"))
	}
}
