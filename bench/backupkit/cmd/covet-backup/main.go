// Command covet-backup backs up one PostgreSQL database into a directory
// store with backupkit, for the comparison that run.sh makes against
// "pg_dump | gzip". It prints the manifest's sizes and the wall time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/covetgo/covet/backupkit"
)

func main() {
	url := flag.String("url", os.Getenv("DATABASE_URL"), "PostgreSQL URL to dump")
	dir := flag.String("dir", "", "directory store")
	comp := flag.String("compression", "gzip", "gzip, zstd or none")
	level := flag.Int("level", 0, "compression level (0: the default)")
	format := flag.String("format", backupkit.CustomFormat, "custom or plain")
	flag.Parse()
	if err := run(*url, *dir, backupkit.Compression(*comp), *level, *format); err != nil {
		fmt.Fprintln(os.Stderr, "covet-backup:", err)
		os.Exit(1)
	}
}

func run(url, dir string, comp backupkit.Compression, level int, format string) error {
	store, err := backupkit.NewDirStore(dir)
	if err != nil {
		return err
	}
	m, err := backupkit.New(store, backupkit.WithCompression(comp), backupkit.WithCompressionLevel(level))
	if err != nil {
		return err
	}
	src, err := backupkit.NewPostgresSource(url, backupkit.WithFormat(format))
	if err != nil {
		return err
	}
	start := time.Now()
	man, err := m.Backup(context.Background(), src)
	if err != nil {
		return err
	}
	fmt.Printf("id=%s size=%d stored=%d seconds=%.3f\n", man.ID, man.Size, man.StoredSize, time.Since(start).Seconds())
	return nil
}
