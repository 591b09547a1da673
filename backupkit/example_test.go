package backupkit_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/covetgo/covet/backupkit"
)

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
	m, err := backupkit.New(store, backupkit.WithCompression(backupkit.Zstd))
	if err != nil {
		log.Fatal(err)
	}
	// A PostgreSQL backup would use pgdump.NewSource(url) (package backupkit/pgdump).
	man, err := m.Backup(ctx, backupkit.NewReaderSource(strings.NewReader("hello, backup"), "notes"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(man.Kind, man.Size, man.Compression)

	var out bytes.Buffer
	if _, err := m.Restore(ctx, "", backupkit.NewWriterTarget(&out)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.String())
	// Output:
	// notes 13 zstd
	// hello, backup
}

func ExampleManager_Prune() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "backups")
	defer os.RemoveAll(dir)
	store, _ := backupkit.NewDirStore(dir)
	m, _ := backupkit.New(store)
	for range 3 {
		if _, err := m.Backup(ctx, backupkit.NewReaderSource(strings.NewReader("x"), "")); err != nil {
			log.Fatal(err)
		}
	}
	res, err := m.Prune(ctx, backupkit.Policy{KeepLast: 1, MaxAge: 30 * 24 * time.Hour}, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("keep %d, remove %d (dry run)\n", len(res.Kept), len(res.Removed))
	// Output:
	// keep 1, remove 2 (dry run)
}
