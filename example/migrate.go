package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/covetgo/covet/example/app"
)

// migrateCommand runs "migrate up|down|status|redo". Output goes to stdout,
// progress and notes to stderr; the exit status is documented in the help.
func migrateCommand(stdout io.Writer, args []string) error {
	if len(args) == 0 {
		return usageErr("migrate", "migrate needs a command: up, down, status or redo")
	}
	if wantsHelp(args) {
		printHelp(stdout, "migrate")
		return nil
	}
	sub := args[0]
	topic := "migrate " + sub
	fs := flag.NewFlagSet(topic, flag.ContinueOnError)
	var dry *bool
	var to *int64
	switch sub {
	case "up":
		dry = fs.Bool("dry-run", false, "")
		to = fs.Int64("to", 0, "")
	case "down":
		to = fs.Int64("to", -1, "")
	case "status", "redo":
	default:
		return usageErr("migrate", "unknown migrate command %q", sub)
	}
	if done, err := parseFlags(stdout, topic, fs, args[1:]); done || err != nil {
		return err
	}
	if sub == "up" && *to < 0 {
		return usageErr(topic, "-to must be a version ≥ 1")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m, closeDB, err := app.OpenMigrator(ctx, nil, nil)
	if err != nil {
		return err
	}
	defer closeDB()
	return runMigrate(ctx, stdout, os.Stderr, m, sub, dry != nil && *dry, to)
}

// runMigrate is the command once the database is open.
func runMigrate(ctx context.Context, stdout, stderr io.Writer, m *app.Migrator, sub string, dry bool, to *int64) error {
	st, err := m.State(ctx)
	if err != nil {
		return err
	}
	if len(st.Incompatible) > 0 && sub != "status" {
		return &exitError{code: exitAhead, err: st.Err()}
	}
	switch sub {
	case "status":
		return migrateStatus(ctx, stdout, m, st)
	case "up":
		if dry {
			return migrateDryRun(stdout, st, *to)
		}
		res, err := m.Up(ctx, *to)
		printResults(stdout, res)
		if err != nil {
			return migrateErr(err)
		}
	case "down":
		res, err := m.Down(ctx, *to)
		printResults(stdout, res)
		if err != nil {
			return migrateErr(err)
		}
	case "redo":
		res, err := m.Redo(ctx)
		printResults(stdout, res)
		if err != nil {
			return migrateErr(err)
		}
	}
	if st, err = m.State(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "database at version %d; this binary's newest is %d\n", st.Current, st.Latest)
	if st.Ahead() {
		fmt.Fprintf(stderr, "the database is ahead of this binary; the newer versions are marked compatible, so this binary serves it\n")
	}
	return nil
}

func migrateErr(err error) error {
	if errors.Is(err, app.ErrSchemaAhead) {
		return &exitError{code: exitAhead, err: err}
	}
	return err
}

func printResults(w io.Writer, res []*goose.MigrationResult) {
	for _, r := range res {
		fmt.Fprintln(w, r.String())
	}
}

func migrateDryRun(w io.Writer, st app.SchemaState, to int64) error {
	var pending []app.Migration
	for _, mg := range st.Missing {
		if to <= 0 || mg.Version <= to {
			pending = append(pending, mg)
		}
	}
	if len(pending) == 0 {
		fmt.Fprintf(w, "-- nothing to apply: database at version %d\n", st.Current)
		return nil
	}
	fmt.Fprintf(w, "-- %d pending: database at version %d, this binary's newest is %d; nothing applied (dry run)\n", len(pending), st.Current, st.Latest)
	for _, mg := range pending {
		compat := ""
		if mg.Compatible {
			compat = ", compatible"
		}
		fmt.Fprintf(w, "\n-- version %d: %s%s\n%s\n", mg.Version, mg.File, compat, mg.UpSQL)
	}
	return &exitError{code: exitPending}
}

func migrateStatus(ctx context.Context, w io.Writer, m *app.Migrator, st app.SchemaState) error {
	applied, err := m.Applied(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT\tCOMPATIBLE")
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for _, mg := range m.Migrations() {
		state, at := "pending", "-"
		if t, ok := applied[mg.Version]; ok {
			state, at = "applied", t.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", mg.Version, mg.Name, state, at, yes(mg.Compatible))
	}
	incompatible := map[int64]bool{}
	for _, v := range st.Incompatible {
		incompatible[v] = true
	}
	for _, v := range st.Unknown {
		fmt.Fprintf(tw, "%d\t?\tapplied, not in this binary\t-\t%s\n", v, yes(!incompatible[v]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ndatabase at version %d; this binary's newest is %d\n", st.Current, st.Latest)
	if len(st.Incompatible) > 0 {
		return &exitError{code: exitAhead, err: st.Err()}
	}
	if st.Behind() {
		return &exitError{code: exitPending}
	}
	return nil
}
