package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/testenv"
)

// privateRedis starts a redis-server of its own with extra arguments (an
// eviction policy, a disabled CONFIG) that the shared test Redis must not
// be given, and returns a client for it.
func privateRedis(t *testing.T, args ...string) *redis.Client {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis-server", "local redis-server", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	cmd := exec.Command(server, append([]string{"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "warning"}, args...)...)
	if err := cmd.Start(); err != nil {
		testenv.Unavailable(t, "redis-server", "port "+port, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port})
	t.Cleanup(func() { _ = c.Close() })
	// Waiting for the server to start, not for a result.
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %s did not start", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func TestEvictionPolicy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		args    []string
		allow   bool
		wantErr bool
		warning string // logged once, or "" for no warning
	}{
		{"noeviction", []string{"--maxmemory-policy", "noeviction"}, false, false, ""},
		{"allkeys-lru refused", []string{"--maxmemory-policy", "allkeys-lru"}, false, true, ""},
		{"volatile-ttl refused", []string{"--maxmemory-policy", "volatile-ttl"}, false, true, ""},
		{"allkeys-lru allowed", []string{"--maxmemory-policy", "allkeys-lru"}, true, false, "may evict keys"},
		{"CONFIG disabled", []string{"--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG", `""`}, false, false, "refused to tell its maxmemory-policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := privateRedis(t, tt.args...)
			var logs bytes.Buffer
			opts := []Option{WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}
			if tt.allow {
				opts = append(opts, WithEvictionAllowed())
			}
			s, err := New(ctx, c, opts...)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.args[1]) {
					t.Errorf("New(%s) = %v; want ErrInvalidConfig naming the policy", tt.args[1], err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New = %v; want a store", err)
			}
			if tt.warning == "" && logs.Len() > 0 {
				t.Errorf("New logged %q; want nothing", logs.String())
			}
			if tt.warning != "" && (strings.Count(logs.String(), tt.warning) != 1 || !strings.Contains(logs.String(), "level=WARN")) {
				t.Errorf("New logged %q; want one warning %q", logs.String(), tt.warning)
			}
			// The store works on it.
			if err := s.DenyToken(ctx, "j", time.Now().Add(time.Minute)); err != nil {
				t.Errorf("DenyToken = %v", err)
			}
		})
	}
}
