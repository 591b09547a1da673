// Command covet-backup backs up one PostgreSQL database into a directory
// store with backupkit, for the comparison that run.sh makes against
// "pg_dump | gzip". It prints the manifest's sizes and the wall time, and
// the stored size as a "metric bytes N" line for the protocol driver.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/pgdump"
)

func main() {
	url := flag.String("url", os.Getenv("DATABASE_URL"), "PostgreSQL URL to dump")
	dir := flag.String("dir", "", "directory store")
	comp := flag.String("compression", "", "gzip, zstd or none (empty: the package default)")
	level := flag.Int("level", 0, "compression level (0: the default)")
	format := flag.String("format", pgdump.CustomFormat, "custom, plain or directory")
	jobs := flag.Int("jobs", 1, "pg_dump jobs (more than 1: directory format)")
	flag.Parse()
	if err := run(*url, *dir, backupkit.Compression(*comp), *level, *format, *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "covet-backup:", err)
		os.Exit(1)
	}
}

func run(url, dir string, comp backupkit.Compression, level int, format string, jobs int) error {
	store, err := backupkit.NewDirStore(dir)
	if err != nil {
		return err
	}
	opts := []backupkit.Option{backupkit.WithCompressionLevel(level)}
	if comp != "" {
		opts = append(opts, backupkit.WithCompression(comp))
	}
	m, err := backupkit.New(store, opts...)
	if err != nil {
		return err
	}
	src, err := pgdump.NewSource(url, pgdump.WithFormat(format), pgdump.WithJobs(jobs))
	if err != nil {
		return err
	}
	start := time.Now()
	man, err := m.Backup(context.Background(), src)
	if err != nil {
		return err
	}
	fmt.Printf("id=%s size=%d stored=%d seconds=%.3f\n", man.ID, man.Size, man.StoredSize, time.Since(start).Seconds())
	fmt.Printf("metric bytes %d\n", man.StoredSize)
	return nil
}
