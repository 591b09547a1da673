package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/example/app"
)

// backupCommand runs "backup", "backup list", "backup prune" and "restore".
func backupCommand(args []string) error {
	cfg, err := app.LoadConfig(nil)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b, err := app.NewBackups(cfg, progressBar)
	if err != nil {
		return err
	}
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch {
	case args[0] == "restore":
		fs := flag.NewFlagSet("restore", flag.ContinueOnError)
		id := fs.String("id", "", "backup ID (default: the latest complete backup)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		m, err := b.RestoreDatabase(ctx, *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\nrestored backup %s (%s, %s)\n", m.ID, m.Kind, m.Time.Format(time.RFC3339))
		return nil
	case sub == "":
		m, err := b.BackupDatabase(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\nbackup %s: %d bytes, %d stored, sha256 %s\n", m.ID, m.Size, m.StoredSize, m.SHA256)
		return nil
	case sub == "list":
		list, err := b.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTIME\tKIND\tSIZE\tSTORED")
		for _, m := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", m.ID, m.Time.Format(time.RFC3339), m.Kind, m.Size, m.StoredSize)
		}
		return tw.Flush()
	case sub == "prune":
		fs := flag.NewFlagSet("prune", flag.ContinueOnError)
		dry := fs.Bool("dry-run", false, "only show what would be removed")
		last := fs.Int("keep-last", 7, "keep the newest N backups")
		daily := fs.Int("keep-daily", 7, "keep one backup for each of the last N days")
		weekly := fs.Int("keep-weekly", 4, "keep one backup for each of the last N weeks")
		monthly := fs.Int("keep-monthly", 6, "keep one backup for each of the last N months")
		maxAge := fs.Duration("max-age", 0, "remove backups older than this (0: no limit)")
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		res, err := b.Prune(ctx, backupkit.Policy{KeepLast: *last, KeepDaily: *daily, KeepWeekly: *weekly, KeepMonthly: *monthly, MaxAge: *maxAge}, *dry)
		if err != nil {
			return err
		}
		verb := "removed"
		if *dry {
			verb = "would remove"
		}
		fmt.Printf("kept %d, %s %d\n", len(res.Kept), verb, len(res.Removed))
		for _, id := range res.Removed {
			fmt.Printf("  %s %s\n", verb, id)
		}
		return nil
	}
	return fmt.Errorf("unknown backup command %q\n%s", sub, usage)
}

// progressBar draws one line on stderr: operation, bytes, rate.
func progressBar(p backupkit.Progress) {
	fmt.Fprintf(os.Stderr, "\r%-8s %10.1f MiB  %8.1f MiB/s  %6.1fs", p.Op, float64(p.Bytes)/(1<<20), p.Rate/(1<<20), p.Elapsed.Seconds())
}
