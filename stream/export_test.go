package stream

import (
	"bytes"
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
	// The row limit after the first byte aborts too, and stops a long query
	// at once instead of reading the rest of it while closing the rows.
	marker := "covet-stream-limit-" + testenv.RandomID(4)
	if !aborted(func() {
		_ = e.Query(httptest.NewRecorder(), request(), pg.DB, "SELECT g, pg_sleep(0.002) FROM generate_series(1, 2000000) g /* "+marker+" */")
	}) {
		t.Fatal("Query over the row limit did not abort")
	}
	if _, ok := queryEnds(t, pg.DB, marker, 5*time.Second); !ok {
		t.Error("query still active 5s after the row limit aborted the export")
	}
}

// A failing write means the client has gone: the caller gets ErrAborted,
// nothing is logged as an error and nothing panics.
func TestWriteFailureAborted(t *testing.T) {
	pg := testenv.NewPostgres(t)
	var logs bytes.Buffer
	e, _ := New(WithFlush(1000, 512), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for _, q := range []string{"SELECT repeat('x', 600)", "SELECT 1"} { // byte threshold, final flush
		err := e.Query(failingWriter{httptest.NewRecorder()}, request(), pg.DB, q)
		if !errors.Is(err, ErrAborted) || strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("Query(%q) to a failing writer = %v, log %q; want ErrAborted, no error logged", q, err, logs.String())
		}
	}
}

type failingWriter struct{ http.ResponseWriter }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestNilArguments(t *testing.T) {
	e, _ := New()
	w := httptest.NewRecorder()
	if err := e.Query(w, request(), (*sqlx.DB)(nil), "SELECT 1"); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil db") || w.Code != 500 {
		t.Errorf("Query(nil db) = %v, %d; want ErrInvalidConfig naming db, 500", err, w.Code)
	}
	if err := e.Rows(httptest.NewRecorder(), request(), nil); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil rows") {
		t.Errorf("Rows(nil) = %v; want ErrInvalidConfig naming rows", err)
	}
	if err := e.CSV(httptest.NewRecorder(), request(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("CSV(nil) = %v; want ErrInvalidConfig", err)
	}
	for name, db := range map[string]sqlx.QueryerContext{"nil": nil, "typed nil": (*sqlx.DB)(nil)} {
		if _, err := NewKeyset(db, "q", 1, func(int) []any { return nil }, 0); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil db") {
			t.Errorf("NewKeyset(%s db) = %v; want ErrInvalidConfig naming db", name, err)
		}
	}
}

func TestNewInvalid(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"format", []Option{WithFormat(Format(9))}, "unknown format"},
		{"null token", []Option{WithNull(",")}, "NULL token"},
		{"flush", []Option{WithFlush(0, 10)}, "flush every"},
		{"max rows", []Option{WithMaxRows(0)}, "max rows"},
		{"max duration", []Option{WithMaxDuration(0)}, "max duration"},
		{"write timeout", []Option{WithWriteTimeout(-1)}, "write timeout"},
		{"nil logger", []Option{WithLogger(nil)}, "nil logger"},
		{"nil error handler", []Option{WithErrorHandler(nil)}, "nil handler"},
		{"NDJSON null", []Option{WithFormat(NDJSON), WithNull("NULL")}, "WithNull applies to CSV only"},
		{"NDJSON no header", []Option{WithoutHeader(), WithFormat(NDJSON)}, "WithoutHeader applies to CSV only"},
		{"NDJSON raw", []Option{WithFormat(NDJSON), WithRawColumns("a")}, "WithRawColumns applies to CSV only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts...); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v; want ErrInvalidConfig saying %q", err, tt.want)
			}
		})
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
