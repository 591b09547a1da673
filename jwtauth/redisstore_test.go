package jwtauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/redis/go-redis/v9"
)

func newTestRedisStore(t testing.TB) (*RedisStore, *testenv.Redis) {
	t.Helper()
	r := testenv.NewRedis(t)
	s, err := NewRedisStore(r.Client, WithKeyPrefix(r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

func TestRedisStore(t *testing.T) {
	s, _ := newTestRedisStore(t)
	testStore(t, s)
}

func TestRedisStoreCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	c := testenv.RedisCluster(t)
	s, err := NewRedisStore(c, WithKeyPrefix("covet-test:"+testenv.RandomID(6)+":"))
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, s)
}

func TestNewRedisStoreValidates(t *testing.T) {
	if _, err := NewRedisStore(nil, WithKeyPrefix("p:")); !errors.Is(err, ErrInvalidConfig) {
		t.Error("NewRedisStore(nil) = nil error")
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := NewRedisStore(c, WithKeyPrefix("p:{x}:")); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewRedisStore(prefix with braces) = %v; want ErrInvalidConfig", err)
	}
	s, err := NewRedisStore(c)
	if err != nil {
		t.Fatalf("NewRedisStore() = %v", err)
	}
	if got := s.familyKey("f"); got != "jwtauth:rf:{f}" {
		t.Errorf("familyKey(%q) = %q; want the default prefix jwtauth:", "f", got)
	}
}

func TestRedisStoreKeysExpire(t *testing.T) {
	s, r := newTestRedisStore(t)
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateRefresh(ctx, RefreshToken{Family: "f", Hash: "h", Subject: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DenyToken(ctx, "j", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	keys, err := r.Client.Keys(ctx, r.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Errorf("keys = %v; want 3", keys)
	}
	for _, k := range keys {
		if ttl := r.Client.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("PTTL(%s) = %v; want (0, 1h]", k, ttl)
		}
		if strings.Contains(k, "h") && strings.HasSuffix(k, ":h") && !strings.Contains(k, "{f}") {
			t.Errorf("token key %s lacks the family hash tag", k)
		}
	}
}

func TestRedisStoreCorruptRecord(t *testing.T) {
	s, r := newTestRedisStore(t)
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateRefresh(ctx, RefreshToken{Family: "f", Hash: "h", Subject: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a|x|1", "a|1"} {
		r.Client.Set(ctx, s.tokenKey("f", "h"), v, time.Hour)
		_, err := s.RotateRefresh(ctx, "h", RefreshToken{Family: "f", Hash: "h2", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err == nil || errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(record %q) = %v; want a corruption error", v, err)
		}
	}
}

func TestRedisStoreDown(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	s, err := NewRedisStore(c, WithKeyPrefix("p:"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	rt := RefreshToken{Family: "f", Hash: "h", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	checks := map[string]error{
		"CreateRefresh": s.CreateRefresh(ctx, rt),
		"RevokeFamily":  s.RevokeFamily(ctx, "f"),
		"DenyToken":     s.DenyToken(ctx, "j", now.Add(time.Hour)),
		"DenySubject":   s.DenySubject(ctx, "u", now, now.Add(time.Hour)),
	}
	_, checks["RotateRefresh"] = s.RotateRefresh(ctx, "h", rt)
	_, checks["Revoked"] = s.Revoked(ctx, "j", "u", now)
	for name, err := range checks {
		if err == nil || errors.Is(err, ErrRefreshInvalid) {
			t.Errorf("%s(redis down) = %v; want a connection error", name, err)
		}
	}
}

func BenchmarkRedisStoreRevoked(b *testing.B) {
	s, _ := newTestRedisStore(b)
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Revoked(ctx, "jti", "sub", now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
