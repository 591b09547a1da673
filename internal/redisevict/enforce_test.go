package redisevict

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/testenv"
)

// TestEnforce: what a store does with each kind of server, on a private
// node whose policy and ACL the test sets (the shared server is left alone).
func TestEnforce(t *testing.T) {
	cc := testenv.RedisCluster(t)
	var addr string
	var once sync.Once
	if err := cc.ForEachMaster(ctx(t), func(ctx context.Context, n *redis.Client) error {
		once.Do(func() { addr = n.Options().Addr })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	client := func(user string) redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: "x"})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	admin := client("")
	if err := admin.Do(ctx(t), "ACL", "SETUSER", "noconfig", "on", "nopass", "~*", "+@all", "-config").Err(); err != nil {
		t.Fatalf("acl setuser: %v", err)
	}
	unreachable := redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), MaxRetries: -1})
	t.Cleanup(func() { _ = unreachable.Close() })

	tests := []struct {
		name            string
		policy          string
		c               redis.UniversalClient
		refuse, allowed bool
		wantErr         bool
		warning         string // logged once, or "" for no log line
	}{
		{"noeviction, security state", "noeviction", admin, true, false, false, ""},
		{"evicting, security state", "allkeys-lru", admin, true, false, true, ""},
		{"evicting, allowed", "volatile-ttl", admin, true, true, false, "allowed by WithEvictionAllowed"},
		{"evicting, soft state", "allkeys-lru", admin, false, false, false, "redis may evict keys: "},
		{"CONFIG refused", "allkeys-lru", client("noconfig"), true, false, false, "CONFIG refused"},
		{"unreachable", "allkeys-lru", unreachable, true, false, false, "redis unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := admin.ConfigSet(ctx(t), "maxmemory-policy", tt.policy).Err(); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			err := Enforce(ctx(t), tt.c, Requirement{
				Name: "test", Keeps: "test keys", Loss: "tests fail",
				Refuse: tt.refuse, Allowed: tt.allowed, Timeout: time.Second,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Enforce(%s) = %v; want error %v", tt.name, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.policy) {
				t.Errorf("Enforce(%s) = %v; want the policy named", tt.name, err)
			}
			if n := strings.Count(logs.String(), "level=WARN"); (tt.warning == "") != (n == 0) || n > 1 || !strings.Contains(logs.String(), tt.warning) {
				t.Errorf("Enforce(%s) logged %q; want one warning with %q", tt.name, logs.String(), tt.warning)
			}
		})
	}
	if err := admin.ConfigSet(ctx(t), "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
}
