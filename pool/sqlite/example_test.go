package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/covetgo/covet/pool"
	_ "github.com/covetgo/covet/pool/sqlite"
)

func Example() {
	dir, _ := os.MkdirTemp("", "sqlite-example")
	defer os.RemoveAll(dir)
	db, err := pool.Open(context.Background(), pool.Config{URL: "sqlite://" + filepath.Join(dir, "app.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	var mode string
	_ = db.Get(&mode, "PRAGMA journal_mode")
	fmt.Println("journal mode:", mode)
	// Output:
	// journal mode: wal
}
