// Command example is a complete service built from covet's packages on chi:
// probes, metrics, security headers, rate limits, JWT auth, a cached users
// API, CSV export and backups.
//
// With no environment at all it serves on 127.0.0.1:8080 with embedded
// defaults: SQLite under DATA_DIR (./data), in-memory rate limits and cache,
// a random signing key and an admin whose random password is logged once.
// With DATABASE_URL=postgres://… and REDIS_URL=redis://… it keeps everything
// replicas share in PostgreSQL and Redis.
//
// Usage:
//
//	example                      serve
//	example config validate      check the environment and list every problem
//	example healthcheck          GET /health on ADDR (for container HEALTHCHECK)
//	example backup               back up the database to BACKUP_TARGET
//	example backup list          list backups
//	example backup prune         apply the retention policy (--dry-run)
//	example restore [--id ID]    restore the latest (or the given) backup
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/covetgo/covet/example/app"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "", "serve":
		return serve()
	case "config":
		if len(args) < 2 || args[1] != "validate" {
			return errors.New("usage: example config validate")
		}
		if _, err := app.LoadConfig(nil); err != nil {
			return err
		}
		fmt.Println("configuration is valid")
		return nil
	case "healthcheck":
		return healthcheck()
	case "backup", "restore":
		return backupCommand(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage:
  example                      serve
  example config validate      check the environment
  example healthcheck          probe /health on ADDR
  example backup               back up the database to BACKUP_TARGET
  example backup list          list backups
  example backup prune         apply retention (--dry-run to only show)
  example restore [--id ID]    restore the latest or the given backup
`

func serve() error {
	cfg, err := app.LoadConfig(nil)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR: %w", err)
	}
	iln, err := net.Listen("tcp", cfg.InternalAddr)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("INTERNAL_ADDR: %w", err)
	}
	return app.Run(ctx, cfg, logger, ln, iln)
}

func healthcheck() error {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/health answered %s", resp.Status)
	}
	return nil
}
