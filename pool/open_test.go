package pool

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/covetgo/covet/testenv"
)

func TestOpenPostgres(t *testing.T) {
	pg := testenv.NewPostgres(t)
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: pg.URL, PoolSize: 2, MaxOverflow: 3, StatementTimeout: 1500 * time.Millisecond, SSLMode: "disable"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if got := db.Stats().MaxOpenConnections; got != 5 {
		t.Errorf("MaxOpenConnections = %d; want 5", got)
	}
	var st string
	if err := db.GetContext(ctx, &st, "SHOW statement_timeout"); err != nil || st != "1500ms" {
		t.Errorf("statement_timeout = %q, %v; want 1500ms", st, err)
	}
	// The statement timeout is enforced by the server.
	_, err = db.ExecContext(ctx, "SELECT pg_sleep(5)")
	if err == nil || !strings.Contains(err.Error(), "57014") {
		t.Errorf("pg_sleep beyond statement_timeout: err = %v; want SQLSTATE 57014", err)
	}
}

func TestOpenPostgresCancelStopsServerQuery(t *testing.T) {
	pg := testenv.NewPostgres(t)
	db, err := Open(context.Background(), Config{URL: pg.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, "SELECT pg_sleep(30) /* covet-pool-cancel */")
		errc <- err
	}()
	waitFor(t, func() bool {
		var n int
		_ = pg.DB.Get(&n, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%covet-pool-cancel */'")
		return n == 1
	})
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled query returned nil")
	}
	waitFor(t, func() bool {
		var n int
		_ = pg.DB.Get(&n, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%covet-pool-cancel */'")
		return n == 0
	})
}

// TestOpenPostgresCancelTimeout freezes the path to the server (it accepts
// and never answers, as a black-holed database does): a call whose context
// ends returns within CancelTimeout after it, not only when the server
// comes back.
func TestOpenPostgresCancelTimeout(t *testing.T) {
	pg := testenv.NewPostgres(t)
	u, err := url.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	fw := newFreezer(t, u.Host)
	u.Host = fw.addr
	db, err := Open(context.Background(), Config{URL: u.String(), PoolSize: 1, CancelTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fw.freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = db.ExecContext(ctx, "SELECT 1")
	took := time.Since(start)
	if err == nil {
		t.Fatal("query through a frozen path returned nil")
	}
	// 200 ms expected; the default CancelTimeout alone would be 1 s.
	if took > 900*time.Millisecond {
		t.Errorf("query returned after %v; want about 100ms + CancelTimeout 100ms", took)
	}
}

// freezer forwards TCP to a server until frozen; then it keeps every
// connection open and forwards nothing, in either direction.
type freezer struct {
	addr   string
	frozen chan struct{}
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{addr: ln.Addr().String(), frozen: make(chan struct{})}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case <-f.frozen:
					continue // swallowed
				default:
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			track(c)
			track(up)
			wg.Go(func() { pipe(up, c) })
			wg.Go(func() { pipe(c, up) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return f
}

func (f *freezer) freeze() { close(f.frozen) }

// waitFor polls an external condition (another process's state) until it
// holds, failing after 10s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		c    Config
		want error
	}{
		{"bad scheme", Config{URL: "mysql://x"}, ErrInvalidConfig},
		{"bad pg url", Config{URL: "postgres://u:p@h:notaport/db"}, ErrInvalidConfig},
		{"bad pg url with ssl", Config{URL: "postgres://%zz", SSLMode: "disable"}, ErrInvalidConfig},
		{"no driver", Config{URL: "oracle://x"}, ErrInvalidConfig},
		{"no scheme", Config{URL: "/var/db"}, ErrInvalidConfig},
		{"unreachable", Config{URL: "postgres://postgres@127.0.0.1:1/test?sslmode=disable", ConnectTimeout: 300 * time.Millisecond}, ErrConnect},
		{"busy timeout for postgres", Config{URL: "postgres://u@h/db", BusyTimeout: time.Second, SkipPrePing: true}, ErrInvalidConfig},
		{"statement timeout for sqlite", Config{URL: "sqlite::memory:", StatementTimeout: time.Second, SkipPrePing: true}, ErrInvalidConfig},
		{"cancel timeout for sqlite", Config{URL: "sqlite::memory:", CancelTimeout: time.Second, SkipPrePing: true}, ErrInvalidConfig},
		{"ssl mode for sqlite", Config{URL: "sqlite::memory:", SSLMode: "require", SkipPrePing: true}, ErrInvalidConfig},
		{"tracer for sqlite", Config{URL: "sqlite::memory:", QueryTracer: nopTracer{}, SkipPrePing: true}, ErrInvalidConfig},
		{"typed nil tracer", Config{URL: "postgres://u@h/db", QueryTracer: (*nopTracer)(nil), SkipPrePing: true}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(ctx, tt.c)
			if !errors.Is(err, tt.want) {
				if db != nil {
					db.Close()
				}
				t.Fatalf("Open(%s) = %v; want %v", tt.name, err, tt.want)
			}
			if strings.Contains(err.Error(), ":p@") {
				t.Errorf("error leaks credentials: %v", err)
			}
		})
	}
}

func TestOpenSkipPrePing(t *testing.T) {
	db, err := Open(context.Background(), Config{URL: "postgres://postgres@127.0.0.1:1/test?sslmode=disable", SkipPrePing: true, ConnectTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := db.PingContext(ctx); err == nil {
		t.Error("PingContext on an unreachable database = nil")
	}
}

// queryRecorder is a pgx.QueryTracer that keeps the SQL it saw.
type queryRecorder struct {
	mu  sync.Mutex
	sql []string
}

func (q *queryRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sql = append(q.sql, d.SQL)
	return ctx
}

func (q *queryRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func TestOpenPostgresQueryTracer(t *testing.T) {
	pg := testenv.NewPostgres(t)
	ctx := context.Background()
	rec := &queryRecorder{}
	db, err := Open(ctx, Config{URL: pg.URL, PoolSize: 1, MaxOverflow: -1, QueryTracer: rec})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.GetContext(ctx, &n, "SELECT 41 + 1"); err != nil || n != 42 {
		t.Fatalf("SELECT = %d, %v", n, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Contains(rec.sql, "SELECT 41 + 1") {
		t.Errorf("tracer saw %q; want the query", rec.sql)
	}
}

type nopTracer struct{}

func (nopTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (nopTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func TestNilArguments(t *testing.T) {
	ctx := context.Background()
	if _, err := Conn(ctx, nil, time.Second); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil db") {
		t.Errorf("Conn(nil) = %v; want ErrInvalidConfig naming db", err)
	}
	if err := InTx(ctx, nil, func(*sqlx.Tx) error { return nil }); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil db") {
		t.Errorf("InTx(nil db) = %v; want ErrInvalidConfig naming db", err)
	}
	db, err := Open(ctx, Config{URL: "sqlite::memory:", SkipPrePing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := InTx(ctx, db, nil); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nil fn") {
		t.Errorf("InTx(nil fn) = %v; want ErrInvalidConfig naming fn", err)
	}
}
