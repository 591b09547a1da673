package redisrdb_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/redisrdb"
	"github.com/covetgo/covet/testenv"
)

// A snapshot of the Redis of REDIS_URL (the local test server by default)
// into a directory. It needs redis-cli on $PATH.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "backups")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := backupkit.NewDirStore(dir)
	if err != nil {
		log.Fatal(err)
	}
	m, err := backupkit.New(store)
	if err != nil {
		log.Fatal(err)
	}
	src, err := redisrdb.NewSource(testenv.RedisURL())
	if err != nil {
		log.Fatal(err)
	}
	man, err := m.Backup(ctx, src)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(man.Kind, man.Size > 0)
	// Output:
	// redis true
}
