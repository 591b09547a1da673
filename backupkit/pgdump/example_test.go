package pgdump_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/pgdump"
	"github.com/covetgo/covet/testenv"
)

// A backup of the PostgreSQL database of DATABASE_URL (the local test
// server by default) into a directory, verified by listing the archive. It
// needs pg_dump and pg_restore on $PATH.
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
	src, err := pgdump.NewSource(testenv.DatabaseURL(), pgdump.WithFormat(pgdump.CustomFormat))
	if err != nil {
		log.Fatal(err)
	}
	man, err := m.Backup(ctx, src)
	if err != nil {
		log.Fatal(err)
	}
	v, err := m.Verify(ctx, man.ID)
	if err != nil {
		log.Fatal(err)
	}
	// v.Contents lists the archive (pg_restore --list): what it holds
	// depends on the database, so the example prints only that it was read.
	fmt.Println(man.Kind, man.Format, v.Manifest.ID == man.ID)
	// Output:
	// postgres custom true
}
