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
	topic, rest, err := backupTopic(args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet(topic, flag.ContinueOnError)
	var id *string
	var prune *pruneFlags
	switch topic {
	case "restore":
		id = fs.String("id", "", "")
	case "backup prune":
		prune = newPruneFlags(fs)
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
		return runRestore(ctx, b, *id)
	case "backup list":
		return runBackupList(ctx, b)
	case "backup prune":
		return runBackupPrune(ctx, b, prune)
	}
	return runBackup(ctx, b)
}

// backupTopic returns the command ("backup", "backup list", "backup prune"
// or "restore") and the arguments after it.
func backupTopic(args []string) (string, []string, error) {
	topic, rest := args[0], args[1:]
	if topic == "backup" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && rest[0] != "help" {
		switch rest[0] {
		case "list", "prune":
			return topic + " " + rest[0], rest[1:], nil
		default:
			return "", nil, usageErr("backup", "unknown backup command %q", rest[0])
		}
	}
	return topic, rest, nil
}

// pruneFlags are the flags of "backup prune".
type pruneFlags struct {
	dry                          *bool
	last, daily, weekly, monthly *int
	maxAge                       *time.Duration
}

func newPruneFlags(fs *flag.FlagSet) *pruneFlags {
	return &pruneFlags{
		dry:     fs.Bool("dry-run", false, ""),
		last:    fs.Int("keep-last", 7, ""),
		daily:   fs.Int("keep-daily", 7, ""),
		weekly:  fs.Int("keep-weekly", 4, ""),
		monthly: fs.Int("keep-monthly", 6, ""),
		maxAge:  fs.Duration("max-age", 0, ""),
	}
}

func runRestore(ctx context.Context, b *app.Backups, id string) error {
	m, err := b.RestoreDatabase(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nrestored backup %s (%s, %s); run 'example migrate up' if it is older than this binary's schema\n", m.ID, m.Kind, m.Time.Format(time.RFC3339))
	return nil
}

func runBackupList(ctx context.Context, b *app.Backups) error {
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
}

func runBackupPrune(ctx context.Context, b *app.Backups, f *pruneFlags) error {
	res, err := b.Prune(ctx, backupkit.Policy{KeepLast: *f.last, KeepDaily: *f.daily, KeepWeekly: *f.weekly, KeepMonthly: *f.monthly, MaxAge: *f.maxAge}, *f.dry)
	if err != nil {
		return err
	}
	verb := "removed"
	if *f.dry {
		verb = "would remove"
	}
	fmt.Printf("kept %d, %s %d\n", len(res.Kept), verb, len(res.Removed))
	for _, id := range res.Removed {
		fmt.Printf("  %s %s\n", verb, id)
	}
	return nil
}

func runBackup(ctx context.Context, b *app.Backups) error {
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
