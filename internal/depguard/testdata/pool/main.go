// Tiny program: pool.Open of a PostgreSQL URL (the built-in driver).
package main

import (
	"context"
	"log"
	"os"

	"github.com/covetgo/covet/pool"
)

func main() {
	db, err := pool.Open(context.Background(), pool.Config{URL: os.Getenv("DATABASE_URL")})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
}
