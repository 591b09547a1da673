package redisrdb

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/covetgo/covet/backupkit"

	"github.com/covetgo/covet/testenv"
)

func TestRedisRDB(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	if err := r.Client.Set(ctx, r.Key("greeting"), "hello from the backup", 0).Err(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []Option
		tool string
	}{
		{"sync", nil, "redis-cli"},
		// redis-cli failing without output stands for a server that refuses
		// SYNC; the source falls back to BGSAVE and reads the file.
		{"bgsave fallback", []Option{WithRedisCLI("false"), withBGSAVEPoll(10 * time.Millisecond)}, "BGSAVE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewSource(r.URL, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.tool == "BGSAVE" {
				dir, err := r.Client.ConfigGet(ctx, "dir").Result()
				if err != nil {
					t.Skipf("CONFIG GET refused: %v", err)
				}
				if _, err := os.Stat(dir["dir"]); err != nil {
					t.Skipf("the Redis data directory is not on this machine: %v", err)
				}
			}
			m := mustManager(t, newDirStore(t))
			man, err := m.Backup(ctx, src)
			if err != nil {
				t.Fatalf("Backup: %v", err)
			}
			if man.Kind != "redis" || man.Format != "rdb" || man.Tool != tt.tool || man.ServerVersion == "" {
				t.Fatalf("manifest = %+v", man)
			}
			out := filepath.Join(t.TempDir(), "dump.rdb")
			ft, err := backupkit.NewFileTarget(out, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Restore(ctx, "", ft); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("REDIS")) || !bytes.Contains(b, []byte("hello from the backup")) {
				t.Fatalf("restored file (%d bytes) is not an RDB holding the key", len(b))
			}
			if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
				t.Fatalf("restored file mode = %v; want 0600", fi.Mode())
			}
			if _, err := m.Restore(ctx, "", ft); !errors.Is(err, backupkit.ErrTargetNotEmpty) {
				t.Fatalf("Restore over an existing file = %v; want backupkit.ErrTargetNotEmpty", err)
			}
		})
	}
}

func TestRedisFailures(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		url  string
		opts []Option
	}{
		{"http url", "http://nope", nil},
		{"zero poll", "redis://localhost", []Option{withBGSAVEPoll(0)}},
		{"RDB path without fallback", "redis://localhost", []Option{WithoutBGSAVEFallback(), WithRDBPath("/var/lib/redis/dump.rdb")}},
		{"empty cli", "redis://localhost", []Option{WithRedisCLI("")}},
	} {
		if _, err := NewSource(tt.url, tt.opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewSource(%s) = %v; want ErrInvalidConfig", tt.name, err)
		}
	}
	r := testenv.NewRedis(t)
	s := newDirStore(t)
	m := mustManager(t, s)
	src, _ := NewSource(r.URL, WithRedisCLI("false"), WithoutBGSAVEFallback())
	if _, err := m.Backup(ctx, src); !errors.Is(err, backupkit.ErrSourceFailed) {
		t.Fatalf("Backup with a failing redis-cli = %v; want backupkit.ErrSourceFailed", err)
	}
	src, _ = NewSource(r.URL, WithRedisCLI("false"), WithRDBPath(filepath.Join(t.TempDir(), "missing.rdb")), withBGSAVEPoll(10*time.Millisecond))
	if _, err := m.Backup(ctx, src); !errors.Is(err, backupkit.ErrSourceFailed) {
		t.Fatalf("Backup with an unreadable RDB = %v; want backupkit.ErrSourceFailed", err)
	}
	if objs, _ := s.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("failed backups left %v", objs)
	}
	src, _ = NewSource("redis://:s3cret@127.0.0.1:1/0")
	args, env := src.(*redisSource).cliArgs()
	if containsLine(args, "s3cret") || !containsLine(env, "REDISCLI_AUTH=s3cret") {
		t.Fatalf("cliArgs = %q; the password must move to REDISCLI_AUTH", args)
	}
	if _, err := backupkit.NewFileTarget("", 0); err == nil {
		t.Fatal("NewFileTarget(\"\") succeeded")
	}
}
