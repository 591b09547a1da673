package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		url   string
		mode  redisMode
		addrs []string // seeds, sentinels or the one address
	}{
		{"redis://127.0.0.1:6379/0", redisSingle, []string{"127.0.0.1:6379"}},
		{"rediss://user:pw@cache.internal:6380/2?dial_timeout=3s", redisSingle, []string{"cache.internal:6380"}},
		{"redis://n1:7000?addr=n2:7001&addr=n3:7002", redisCluster, []string{"n1:7000", "n2:7001", "n3:7002"}},
		{"redis://:pw@redis-cluster:6379?cluster=true", redisCluster, []string{"redis-cluster:6379"}},
		{"rediss://n1:7000/0?addr=n2:7001&read_timeout=2s", redisCluster, []string{"n1:7000", "n2:7001"}},
		{"redis://s1:26379/0?master_name=mymaster&addr=s2:26379&password=pw", redisSentinel, []string{"s1:26379", "s2:26379"}},
		{"redis://n1:7000?cluster=false", redisSingle, []string{"n1:7000"}},
	}
	for _, tt := range tests {
		got, err := parseRedisURL(tt.url)
		if err != nil {
			t.Errorf("parseRedisURL(%q) = %v", tt.url, err)
			continue
		}
		var addrs []string
		switch got.mode {
		case redisSingle:
			addrs = []string{got.single.Addr}
		case redisCluster:
			addrs = got.cluster.Addrs
		case redisSentinel:
			addrs = got.sentinel.SentinelAddrs
		}
		if got.mode != tt.mode || !slices.Equal(addrs, tt.addrs) {
			t.Errorf("parseRedisURL(%q) = %s %v; want %s %v", tt.url, got.mode, addrs, tt.mode, tt.addrs)
		}
		c := got.client()
		switch c := c.(type) {
		case *redis.Client:
			if !c.Options().ContextTimeoutEnabled {
				t.Errorf("parseRedisURL(%q): client ignores context deadlines", tt.url)
			}
		case *redis.ClusterClient:
			if !c.Options().ContextTimeoutEnabled {
				t.Errorf("parseRedisURL(%q): client ignores context deadlines", tt.url)
			}
		}
		_ = c.Close()
	}
}

func TestParseRedisURLErrors(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://x", "redis://"},
		{"redis://", "redis://"},
		{"redis://n1:7000/3?addr=n2:7001", "only database 0"},
		{"redis://n1:7000?cluster=maybe", "true or false"},
		{"redis://s1:26379?master_name=m&cluster=true", "exclusive"},
		{"redis://s1:26379?master_name=", "master_name"},
		{"redis://n1:7000?addr=n2:7001&bogus=1", "bogus"},
		{"redis://:secretpw@n1:6379?bogus=1", "bogus"},
	}
	for _, tt := range tests {
		_, err := parseRedisURL(tt.url)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseRedisURL(%q) = %v; want an error naming %q", tt.url, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("parseRedisURL(%q) = %v; leaks the password", tt.url, err)
		}
	}
}

func TestLoadConfigRedisForms(t *testing.T) {
	for _, u := range []string{"redis://n1:7000?addr=n2:7001", "redis://s1:26379?master_name=m"} {
		if _, err := LoadConfig(func(k string) string { return map[string]string{"REDIS_URL": u}[k] }); err != nil {
			t.Errorf("LoadConfig(REDIS_URL=%q) = %v", u, err)
		}
	}
	_, err := LoadConfig(func(k string) string { return map[string]string{"REDIS_URL": "redis://n1:7000/5?cluster=true"}[k] })
	if err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("LoadConfig(cluster URL with database 5) = %v; want a REDIS_URL problem", err)
	}
}
