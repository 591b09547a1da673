package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/example/app"
)

// backupCommand runs "backup", "backup list", "backup prune" and "restore".
// Flags and help are handled before the configuration is read, so that -h
// works anywhere.
func backupCommand(args []string) error {
	topic := args[0]
	rest := args[1:]
	if topic == "backup" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && rest[0] != "help" {
		switch rest[0] {
		case "list", "prune":
			topic += " " + rest[0]
			rest = rest[1:]
		default:
			return usageErr("backup", "unknown backup command %q", rest[0])
		}
	}
	fs := flag.NewFlagSet(topic, flag.ContinueOnError)
	var (
		id                           *string
		dry                          *bool
		last, daily, weekly, monthly *int
		maxAge                       *time.Duration
	)
	switch topic {
	case "restore":
		id = fs.String("id", "", "")
	case "backup prune":
		dry = fs.Bool("dry-run", false, "")
		last = fs.Int("keep-last", 7, "")
		daily = fs.Int("keep-daily", 7, "")
		weekly = fs.Int("keep-weekly", 4, "")
		monthly = fs.Int("keep-monthly", 6, "")
		maxAge = fs.Duration("max-age", 0, "")
	}
	if done, err := parseFlags(os.Stdout, topic, fs, rest); done || err != nil {
		return err
	}

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
	switch topic {
	case "restore":
		m, err := b.RestoreDatabase(ctx, *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\nrestored backup %s (%s, %s); run 'example migrate up' if it is older than this binary's schema\n", m.ID, m.Kind, m.Time.Format(time.RFC3339))
		return nil
	case "backup list":
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
	case "backup prune":
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
	m, err := b.BackupDatabase(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nbackup %s: %d bytes, %d stored, sha256 %s\n", m.ID, m.Size, m.StoredSize, m.SHA256)
	return nil
}

// progressBar draws one line on stderr: operation, bytes, rate.
func progressBar(p backupkit.Progress) {
	fmt.Fprintf(os.Stderr, "\r%-8s %10.1f MiB  %8.1f MiB/s  %6.1fs", p.Op, float64(p.Bytes)/(1<<20), p.Rate/(1<<20), p.Elapsed.Seconds())
}
