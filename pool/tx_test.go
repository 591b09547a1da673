package pool

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
)

func noSleep(o *txConfig) { o.sleep = func(context.Context, time.Duration) error { return nil } }

func sqliteDB(t *testing.T) *sqlx.DB {
	t.Helper()
	db, err := Open(context.Background(), Config{URL: "sqlite://" + filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.MustExec("CREATE TABLE t (v INTEGER)")
	return db
}

func count(t *testing.T, db *sqlx.DB) int {
	t.Helper()
	var n int
	if err := db.Get(&n, "SELECT count(*) FROM t"); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInTxCommitRollbackRetry(t *testing.T) {
	ctx := context.Background()
	db := sqliteDB(t)
	boom := errors.New("boom")
	serial := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	tests := []struct {
		name     string
		failures int   // attempts that fail with failErr before one succeeds
		failErr  error // error returned by failing attempts
		opts     []TxOption
		want     error
		wantRows int
		wantRuns int
	}{
		{"commit", 0, nil, nil, nil, 1, 1},
		{"plain error rolls back", 1, boom, nil, boom, 0, 1},
		{"retry then commit", 2, serial, nil, nil, 1, 3},
		{"deadlock retried", 1, &pgconn.PgError{Code: "40P01"}, nil, nil, 1, 2},
		{"exhausted", 9, serial, []TxOption{WithMaxAttempts(3)}, ErrRetriesExhausted, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db.MustExec("DELETE FROM t")
			runs := 0
			opts := append([]TxOption{noSleep, WithBackoff(time.Millisecond, 2*time.Millisecond), WithAcquireTimeout(time.Second)}, tt.opts...)
			err := InTx(ctx, db, func(tx *sqlx.Tx) error {
				runs++
				if _, err := tx.Exec("INSERT INTO t VALUES (1)"); err != nil {
					return err
				}
				if runs <= tt.failures {
					return fmt.Errorf("step: %w", tt.failErr)
				}
				return nil
			}, opts...)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("InTx = %v; want %v", err, tt.want)
			}
			if runs != tt.wantRuns || count(t, db) != tt.wantRows {
				t.Errorf("runs = %d, rows = %d; want %d, %d", runs, count(t, db), tt.wantRuns, tt.wantRows)
			}
		})
	}
}

func TestInTxPanicRollsBack(t *testing.T) {
	db := sqliteDB(t)
	defer func() {
		if p := recover(); p != "kaboom" {
			t.Fatalf("recover() = %v; want kaboom", p)
		}
		if n := count(t, db); n != 0 {
			t.Errorf("rows after panic = %d; want 0", n)
		}
	}()
	_ = InTx(context.Background(), db, func(tx *sqlx.Tx) error {
		tx.MustExec("INSERT INTO t VALUES (1)")
		panic("kaboom")
	})
}

func TestInTxErrors(t *testing.T) {
	db := sqliteDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := InTx(ctx, db, func(*sqlx.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("InTx with cancelled ctx = %v; want context.Canceled", err)
	}
	// A retry wait cut short by the context.
	ctx2, cancel2 := context.WithCancel(context.Background())
	err := InTx(ctx2, db, func(*sqlx.Tx) error {
		cancel2()
		return &pgconn.PgError{Code: "40001"}
	})
	if !errors.Is(err, context.Canceled) || !Retryable(err) {
		t.Errorf("InTx cancelled during backoff = %v; want context.Canceled and the 40001", err)
	}
	if err := sleepCtx(context.Background(), time.Microsecond); err != nil {
		t.Errorf("sleepCtx = %v", err)
	}
}

// A real serialization failure: two SERIALIZABLE transactions each read the
// table and insert; the second to commit fails with 40001 and is retried.
func TestInTxPostgresSerializationFailure(t *testing.T) {
	pg := testenv.NewPostgres(t)
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: pg.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.MustExec("CREATE TABLE t (v int)")
	ser := &sql.TxOptions{Isolation: sql.LevelSerializable}

	other, err := db.BeginTxx(ctx, ser)
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	err = InTx(ctx, db, func(tx *sqlx.Tx) error {
		runs++
		var n int
		if err := tx.Get(&n, "SELECT count(*) FROM t"); err != nil {
			return err
		}
		if runs == 1 {
			// The concurrent transaction reads, writes and commits in between.
			var m int
			if err := other.Get(&m, "SELECT count(*) FROM t"); err != nil {
				return err
			}
			other.MustExec("INSERT INTO t VALUES (1)")
			if err := other.Commit(); err != nil {
				return err
			}
		}
		_, err := tx.Exec("INSERT INTO t VALUES ($1)", n+10)
		return err
	}, WithTxOptions(ser), noSleep)
	if err != nil {
		t.Fatalf("InTx = %v", err)
	}
	// An unsupported isolation level fails at begin.
	if err := InTx(ctx, db, func(*sqlx.Tx) error { return nil },
		WithTxOptions(&sql.TxOptions{Isolation: sql.IsolationLevel(99)})); err == nil {
		t.Error("InTx with a bad isolation level = nil")
	}
	if runs != 2 {
		t.Errorf("runs = %d; want 2 (one serialization failure, one success)", runs)
	}
	var vals []int
	db.Select(&vals, "SELECT v FROM t ORDER BY v")
	if fmt.Sprint(vals) != "[1 11]" {
		t.Errorf("rows = %v; want [1 11]", vals)
	}
}
