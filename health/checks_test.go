package health

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/testenv"
	"github.com/jmoiron/sqlx"
)

func TestSQLPingPostgres(t *testing.T) {
	pg := testenv.NewPostgres(t)
	down, err := sql.Open("pgx", "postgres://postgres@"+testenv.ClosedAddr(t)+"/test?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	ping := func(db Pinger) CheckFunc {
		t.Helper()
		fn, err := SQLPing(db)
		if err != nil {
			t.Fatal(err)
		}
		return fn
	}
	c := mustNew(t,
		WithCheck("sqlx", ping(pg.DB), WithComponentType("datastore")),
		WithCheck("sql", ping(pg.DB.DB), WithComponentType("datastore")),
		WithCheck("down", ping(down), WithComponentType("datastore"), WithCritical(false)),
	)
	rec := get(t, c.Readiness(), "/ready")
	b := decode(t, rec)
	if rec.Code != 200 || b.Status != StatusWarn {
		t.Fatalf("GET /ready = %d %s; want 200 warn", rec.Code, rec.Body)
	}
	for _, k := range []string{"sqlx", "sql"} {
		if e := b.Checks[k+":responseTime"][0]; e.Status != StatusPass || e.ComponentType != "datastore" {
			t.Fatalf("%s = %+v; want pass", k, e)
		}
	}
	if e := b.Checks["down:responseTime"][0]; e.Status != StatusFail || !strings.HasPrefix(e.Output, "sql ping: ") {
		t.Fatalf("down = %+v; want a failed sql ping", e)
	}
}

func TestSQLPingNil(t *testing.T) {
	for name, db := range map[string]Pinger{"nil": nil, "nil *sql.DB": (*sql.DB)(nil), "nil *sqlx.DB": (*sqlx.DB)(nil)} {
		if _, err := SQLPing(db); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil db") {
			t.Errorf("SQLPing(%s) = %v; want ErrInvalidConfig naming db", name, err)
		}
	}
}

func TestHTTPGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("fine"))
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "broken", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	tests := []struct {
		path       string
		want       []int
		ok         bool
		wantStatus bool
	}{
		{"/ok", nil, true, false},
		{"/nocontent", nil, true, false},
		{"/nocontent", []int{200}, false, true},
		{"/nocontent", []int{200, 204}, true, false},
		{"/broken", nil, false, true},
		{"/moved", nil, false, true},
		{"/moved", []int{302}, true, false},
	}
	for _, tt := range tests {
		check, err := HTTPGet(srv.Client(), srv.URL+tt.path, tt.want...)
		if err != nil {
			t.Fatalf("HTTPGet(%q): %v", tt.path, err)
		}
		err = check(context.Background())
		if (err == nil) != tt.ok || errors.Is(err, ErrStatus) != tt.wantStatus {
			t.Errorf("GET %s want %v = %v; want ok=%v", tt.path, tt.want, err, tt.ok)
		}
	}
	srv.Client().CloseIdleConnections()
}

func TestHTTPGetDefaultClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	check, err := HTTPGet(nil, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(context.Background()); err != nil {
		t.Fatalf("check = %v", err)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

func TestHTTPGetRedactsPassword(t *testing.T) {
	check, err := HTTPGet(nil, "http://user:s3cret@"+testenv.ClosedAddr(t)+"/x")
	if err != nil {
		t.Fatal(err)
	}
	err = check(context.Background())
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "xxxxx") {
		t.Fatalf("error %q; want a failure with the password redacted", err)
	}
}

func TestHTTPGetRejectsBadConfig(t *testing.T) {
	tests := []struct {
		url  string
		want []int
	}{
		{"localhost:8080/health", nil},
		{"ftp://example.com/", nil},
		{"http:///nohost", nil},
		{"http://example.com/%zz", nil},
		{"http://example.com/", []int{99}},
		{"http://example.com/", []int{600}},
	}
	for _, tt := range tests {
		if _, err := HTTPGet(nil, tt.url, tt.want...); !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "health: ") {
			t.Errorf("HTTPGet(%q, %v) = %v; want a health: http check error", tt.url, tt.want, err)
		}
	}
}
