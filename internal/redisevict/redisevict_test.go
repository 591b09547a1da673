package redisevict

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/redis/go-redis/v9"
)

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestCheckShared reads the shared test server's policy: Check must agree
// with CONFIG GET as sent by hand.
func TestCheckShared(t *testing.T) {
	r := testenv.NewRedis(t)
	want, err := r.Client.ConfigGet(ctx(t), "maxmemory-policy").Result()
	if err != nil {
		t.Fatalf("config get: %v", err)
	}
	p, ev, err := Check(ctx(t), r.Client)
	if err != nil {
		t.Fatalf("Check = %v", err)
	}
	if p != want["maxmemory-policy"] || ev != (p != NoEviction) {
		t.Errorf("Check = %q, %v; want %q, %v", p, ev, want["maxmemory-policy"], p != NoEviction)
	}
}

func TestCheckUnreachable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), MaxRetries: -1})
	defer c.Close()
	_, _, err := Check(ctx(t), c)
	if err == nil || errors.Is(err, ErrUnknownPolicy) {
		t.Errorf("Check(closed port) = %v; want a network error not wrapping ErrUnknownPolicy", err)
	}
}

// TestCheck runs on private servers whose settings the test owns.
func TestCheck(t *testing.T) {
	cc := testenv.RedisCluster(t)
	var addrs []string
	var mu sync.Mutex
	if err := cc.ForEachMaster(ctx(t), func(ctx context.Context, n *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		addrs = append(addrs, n.Options().Addr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	node := func(t *testing.T, i int, user string) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addrs[i], Username: user, Password: "x"})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	setPolicy := func(t *testing.T, i int, p string) {
		if err := node(t, i, "").ConfigSet(ctx(t), "maxmemory-policy", p).Err(); err != nil {
			t.Fatalf("config set %s: %v", p, err)
		}
	}
	if err := node(t, 0, "").Do(ctx(t), "ACL", "SETUSER", "noconfig", "on", "nopass", "~*", "+@all", "-config").Err(); err != nil {
		t.Fatalf("acl setuser: %v", err)
	}

	tests := []struct {
		name     string
		policies [3]string // per master, "" = noeviction
		client   func(t *testing.T) redis.UniversalClient
		policy   string
		ev       bool
		unknown  bool
	}{
		{"node noeviction", [3]string{}, func(t *testing.T) redis.UniversalClient { return node(t, 0, "") }, "noeviction", false, false},
		{"node allkeys-lru", [3]string{"allkeys-lru"}, func(t *testing.T) redis.UniversalClient { return node(t, 0, "") }, "allkeys-lru", true, false},
		{"node volatile-ttl", [3]string{"volatile-ttl"}, func(t *testing.T) redis.UniversalClient { return node(t, 0, "") }, "volatile-ttl", true, false},
		{"cluster noeviction", [3]string{}, func(*testing.T) redis.UniversalClient { return cc }, "noeviction", false, false},
		{"cluster one master evicts", [3]string{"", "", "volatile-lru"}, func(*testing.T) redis.UniversalClient { return cc }, "volatile-lru", true, false},
		{"config denied by ACL", [3]string{}, func(t *testing.T) redis.UniversalClient { return node(t, 0, "noconfig") }, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, p := range tt.policies {
				if p == "" {
					p = NoEviction
				}
				setPolicy(t, i, p)
			}
			p, ev, err := Check(ctx(t), tt.client(t))
			if tt.unknown {
				if !errors.Is(err, ErrUnknownPolicy) {
					t.Fatalf("Check = %q, %v, %v; want ErrUnknownPolicy", p, ev, err)
				}
				return
			}
			if err != nil || p != tt.policy || ev != tt.ev {
				t.Errorf("Check = %q, %v, %v; want %q, %v, nil", p, ev, err, tt.policy, tt.ev)
			}
		})
	}
}
