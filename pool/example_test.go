package pool_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/covetgo/covet/pool"
	_ "github.com/covetgo/covet/pool/sqlite" // sqlite: URLs
	"github.com/jmoiron/sqlx"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "pool-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := pool.Open(ctx, pool.Config{URL: "sqlite://" + filepath.Join(dir, "app.db"), PoolSize: 4, MaxOverflow: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	fmt.Println("max open:", db.Stats().MaxOpenConnections)
	fmt.Println("ready:", db.PingContext(ctx) == nil)
	// Output:
	// max open: 8
	// ready: true
}

func ExampleConfigFromLookup() {
	env := map[string]string{
		"DATABASE_URL":          "postgres://app@db:5432/app",
		"DATABASE_POOL_SIZE":    "fifty",
		"DATABASE_POOL_TIMEOUT": "30",
		"DATABASE_SSL_MODE":     "sometimes",
	}
	_, err := pool.ConfigFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	fmt.Println(err)
	// Output:
	// pool: invalid configuration: DATABASE_POOL_SIZE="fifty": want an integer ≥ 1
	// pool: invalid configuration: DATABASE_SSL_MODE="sometimes": want disable, allow, prefer, require, verify-ca or verify-full
}

func ExampleInTx() {
	dir, _ := os.MkdirTemp("", "pool-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := pool.Open(ctx, pool.Config{URL: "sqlite://" + filepath.Join(dir, "app.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	db.MustExec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
	db.MustExec("INSERT INTO accounts VALUES (1, 100), (2, 0)")
	err = pool.InTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := tx.Exec("UPDATE accounts SET balance = balance - 30 WHERE id = 1"); err != nil {
			return err
		}
		_, err := tx.Exec("UPDATE accounts SET balance = balance + 30 WHERE id = 2")
		return err
	}, pool.WithAcquireTimeout(pool.DefaultPoolTimeout))
	var b []int
	_ = db.Select(&b, "SELECT balance FROM accounts ORDER BY id")
	fmt.Println(err, b)
	// Output: <nil> [70 30]
}

func ExampleNewResources() {
	clients, err := pool.NewResources(pool.ResourcesConfig[*http.Client]{
		New:         func(context.Context) (*http.Client, error) { return &http.Client{Timeout: 5 * time.Second}, nil },
		Close:       func(c *http.Client) { c.CloseIdleConnections() },
		MaxSize:     4,
		MaxLifetime: time.Hour,
		MaxUses:     1000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer clients.Close()
	r, err := clients.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Value().Timeout)
	r.Release()
	fmt.Println(clients.Stats().Idle)
	// Output:
	// 5s
	// 1
}
