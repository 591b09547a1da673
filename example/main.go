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
//	example [serve]                      serve
//	example migrate up|down|status|redo  schema migrations
//	example backup [list|prune]          back up the database; list, prune
//	example restore [-id ID]             restore the latest (or the given) backup
//	example config validate              check the environment
//	example healthcheck                  GET /health on ADDR
//
// "example help <command>" or "example <command> -h" describes a command,
// its flags and the environment it reads.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/covetgo/covet/example/app"
)

func main() {
	err := run(os.Args[1:])
	if err != nil && err.Error() != "" {
		fmt.Fprintln(os.Stderr, "example:", err)
	}
	os.Exit(exitCode(err))
}

func run(args []string) error {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	rest := args[min(1, len(args)):]
	switch cmd {
	case "", "serve":
		if done, err := parseFlags(os.Stdout, "serve", flag.NewFlagSet("serve", flag.ContinueOnError), rest); done || err != nil {
			return err
		}
		return serve()
	case "config":
		if len(rest) == 0 || wantsHelp(rest) {
			if len(rest) == 0 {
				return usageErr("config", "config needs a command: validate")
			}
			return stdoutHelp("config")
		}
		if rest[0] != "validate" {
			return usageErr("config", "unknown config command %q", rest[0])
		}
		if done, err := parseFlags(os.Stdout, "config", flag.NewFlagSet("validate", flag.ContinueOnError), rest[1:]); done || err != nil {
			return err
		}
		if _, err := app.LoadConfig(nil); err != nil {
			return err
		}
		fmt.Println("configuration is valid")
		return nil
	case "healthcheck":
		if done, err := parseFlags(os.Stdout, "healthcheck", flag.NewFlagSet("healthcheck", flag.ContinueOnError), rest); done || err != nil {
			return err
		}
		return healthcheck()
	case "backup", "restore":
		return backupCommand(args)
	case "migrate":
		return migrateCommand(os.Stdout, rest)
	case "help", "-h", "-help", "--help":
		topic := strings.Join(rest, " ")
		if _, ok := helpTopics[topic]; !ok {
			return usageErr("", "unknown help topic %q", topic)
		}
		return stdoutHelp(topic)
	}
	return usageErr("", "unknown command %q", cmd)
}

func serve() error {
	cfg, err := app.LoadConfig(nil)
	if err != nil {
		return err
	}
	var logOut io.Writer = os.Stderr
	if cfg.LogFlushInterval > 0 {
		lb := app.NewLogBuffer(os.Stderr, cfg.LogFlushInterval)
		defer lb.Close()
		logOut = lb
	}
	logger := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: cfg.LogLevel}))
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
