package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/covetgo/covet/example/app"
	"github.com/covetgo/covet/pool"
)

// TestHelp: every command answers -h, --help and "help <command>" with its
// usage on stdout and exit status 0, before reading any configuration.
func TestHelp(t *testing.T) {
	t.Setenv("ENVIRONMENT", "production") // would fail LoadConfig
	topics := make([]string, 0, len(helpTopics))
	for k := range helpTopics {
		topics = append(topics, k)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		words := strings.Fields(topic)
		for _, args := range [][]string{
			append(append([]string{}, words...), "-h"),
			append(append([]string{}, words...), "--help"),
			append([]string{"help"}, words...),
		} {
			out := captureStdout(t, func() {
				if err := run(args); err != nil {
					t.Errorf("run(%q) = %v; want nil", args, err)
				}
			})
			if !strings.Contains(strings.ToLower(out), "usage:") {
				t.Errorf("run(%q) printed %q; want a usage", args, out)
			}
		}
		if strings.HasPrefix(topic, "migrate") || strings.HasPrefix(topic, "backup") || topic == "restore" || topic == "serve" {
			if !strings.Contains(helpTopics[topic], "DATABASE_URL") {
				t.Errorf("help %q does not list DATABASE_URL", topic)
			}
		}
	}
	for _, topic := range []string{"backup", "backup list", "backup prune", "restore"} {
		for _, v := range []string{"BACKUP_TARGET", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION"} {
			if !strings.Contains(helpTopics[topic], v) {
				t.Errorf("help %q does not list %s", topic, v)
			}
		}
	}
}

// TestServeHelpListsEnvironment keeps "example serve -h" in step with the
// variables the configuration reads.
func TestServeHelpListsEnvironment(t *testing.T) {
	src, err := os.ReadFile("app/config.go")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`(?:get|getenv|list)\("([A-Z][A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 10 {
		t.Fatalf("found %d variables in app/config.go; the pattern is out of date", len(names))
	}
	for _, n := range names {
		if !strings.Contains(helpTopics["serve"], n[1]) {
			t.Errorf("example serve -h does not describe %s", n[1])
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"}, {"help", "bogus"}, {"backup", "bogus"}, {"backup", "prune", "-nope"}, {"restore", "extra"},
		{"migrate"}, {"migrate", "sideways"}, {"migrate", "up", "-to", "-3"}, {"migrate", "down", "-to", "x"},
		{"config"}, {"config", "check"}, {"healthcheck", "now"}, {"serve", "-port", "1"},
	} {
		err := run(args)
		if got := exitCode(err); got != exitUsage {
			t.Errorf("run(%q) exit %d (%v); want %d", args, got, err, exitUsage)
		}
	}
}

// TestMigrateExitCodes drives "example migrate" on a SQLite database
// through the exit statuses a deploy script relies on.
func TestMigrateExitCodes(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DATA_DIR", dir)
	t.Setenv("DATABASE_URL", "")
	steps := []struct {
		args []string
		want int
		out  string
	}{
		{[]string{"migrate", "status"}, exitPending, "pending"},
		{[]string{"migrate", "up", "--dry-run"}, exitPending, "ALTER TABLE users ADD COLUMN last_login_at"},
		{[]string{"migrate", "status"}, exitPending, "pending"}, // the dry run applied nothing
		{[]string{"migrate", "up", "-to", "1"}, exitOK, "00001_create_users.sql"},
		{[]string{"migrate", "up"}, exitOK, "00002_users_last_login_at.sql"},
		{[]string{"migrate", "up", "--dry-run"}, exitOK, "nothing to apply"},
		{[]string{"migrate", "status"}, exitOK, "applied"},
		{[]string{"migrate", "redo"}, exitOK, "down 00002"},
		{[]string{"migrate", "down"}, exitOK, "down 00002"},
		{[]string{"migrate", "up"}, exitOK, "up 00002"},
	}
	for _, s := range steps {
		var err error
		out := captureStdout(t, func() { err = run(s.args) })
		if got := exitCode(err); got != s.want || !strings.Contains(out, s.out) {
			t.Fatalf("run(%q) = exit %d (%v), output %q; want exit %d and %q", s.args, got, err, out, s.want, s.out)
		}
	}
	// A newer release applied version 3, not marked compatible.
	db, err := pool.Open(context.Background(), pool.Config{URL: "sqlite://" + filepath.Join(dir, "covet.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 1)"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"migrate", "status"}, {"migrate", "up"}, {"migrate", "down"}, {"migrate", "up", "--dry-run"}} {
		var err error
		captureStdout(t, func() { err = run(args) })
		if exitCode(err) != exitAhead || !errors.Is(err, app.ErrSchemaAhead) {
			t.Errorf("run(%q) ahead = exit %d (%v); want %d", args, exitCode(err), err, exitAhead)
		}
	}
	if _, err := db.Exec("INSERT INTO schema_compat (version_id, compatible) VALUES (3, 1)"); err != nil {
		t.Fatal(err)
	}
	var errUp error
	captureStdout(t, func() { errUp = run([]string{"migrate", "up"}) })
	if exitCode(errUp) != exitOK {
		t.Errorf("migrate up ahead across a compatible version = exit %d (%v); want 0", exitCode(errUp), errUp)
	}
}

func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		done <- b.String()
	}()
	defer func() { os.Stdout = old }()
	fn()
	_ = w.Close()
	os.Stdout = old
	return <-done
}
