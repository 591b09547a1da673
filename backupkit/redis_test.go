package backupkit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

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
		opts []RedisOption
		tool string
	}{
		{"sync", nil, "redis-cli"},
		// redis-cli failing without output stands for a server that refuses
		// SYNC; the source falls back to BGSAVE and reads the file.
		{"bgsave fallback", []RedisOption{WithRedisCLI("false"), withBGSAVEPoll(10 * time.Millisecond)}, "BGSAVE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewRedisSource(r.URL, tt.opts...)
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
			ft, err := NewFileTarget(out, 0)
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
			if _, err := m.Restore(ctx, "", ft); !errors.Is(err, ErrTargetNotEmpty) {
				t.Fatalf("Restore over an existing file = %v; want ErrTargetNotEmpty", err)
			}
		})
	}
}

func TestRedisFailures(t *testing.T) {
	ctx := context.Background()
	if _, err := NewRedisSource("http://nope"); err == nil {
		t.Fatal("NewRedisSource(http://) succeeded")
	}
	if _, err := NewRedisSource("redis://localhost", withBGSAVEPoll(0)); err == nil {
		t.Fatal("NewRedisSource with a zero poll succeeded")
	}
	r := testenv.NewRedis(t)
	s := newDirStore(t)
	m := mustManager(t, s)
	src, _ := NewRedisSource(r.URL, WithRedisCLI("false"), WithoutBGSAVEFallback())
	if _, err := m.Backup(ctx, src); !errors.Is(err, ErrSourceFailed) {
		t.Fatalf("Backup with a failing redis-cli = %v; want ErrSourceFailed", err)
	}
	src, _ = NewRedisSource(r.URL, WithRedisCLI("false"), WithRDBPath(filepath.Join(t.TempDir(), "missing.rdb")), withBGSAVEPoll(10*time.Millisecond))
	if _, err := m.Backup(ctx, src); !errors.Is(err, ErrSourceFailed) {
		t.Fatalf("Backup with an unreadable RDB = %v; want ErrSourceFailed", err)
	}
	if objs, _ := s.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("failed backups left %v", objs)
	}
	src, _ = NewRedisSource("redis://:s3cret@127.0.0.1:1/0")
	args, env := src.(*redisSource).cliArgs()
	if containsLine(args, "s3cret") || !containsLine(env, "REDISCLI_AUTH=s3cret") {
		t.Fatalf("cliArgs = %q; the password must move to REDISCLI_AUTH", args)
	}
	if _, err := NewFileTarget("", 0); err == nil {
		t.Fatal("NewFileTarget(\"\") succeeded")
	}
}
