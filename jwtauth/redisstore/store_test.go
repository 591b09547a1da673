package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/internal/storetest"
	"github.com/covetgo/covet/testenv"
)

func newTestStore(t testing.TB, opts ...Option) (*Store, *testenv.Redis) {
	t.Helper()
	r := testenv.NewRedis(t)
	s, err := New(context.Background(), r.Client, append([]Option{WithKeyPrefix(r.Prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

func TestStore(t *testing.T) {
	s, _ := newTestStore(t)
	storetest.Store(t, s)
}

func TestRefreshFlow(t *testing.T) {
	s, _ := newTestStore(t)
	storetest.Flow(t, s)
}

func TestStoreCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	c := testenv.RedisCluster(t)
	s, err := New(context.Background(), c, WithKeyPrefix("covet-test:"+testenv.RandomID(6)+":"))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Store(t, s)
}

func TestNewValidates(t *testing.T) {
	ctx := context.Background()
	var nilClient *redis.Client
	for _, c := range []redis.UniversalClient{nil, nilClient, (*redis.ClusterClient)(nil)} {
		_, err := New(ctx, c)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "client") {
			t.Errorf("New(%T(nil)) = %v; want ErrInvalidConfig naming the client", c, err)
		}
	}
	c := redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), MaxRetries: -1})
	defer c.Close()
	for _, o := range []Option{WithKeyPrefix("p:{x}:"), WithTimeout(0), WithBreaker(0, time.Second), WithBreaker(1, 0)} {
		if _, err := New(ctx, c, o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(bad option) = %v; want ErrInvalidConfig", err)
		}
	}
	var logs bytes.Buffer
	s, err := New(ctx, c, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatalf("New(unreachable redis) = %v; want a store and a warning", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "unreachable") {
		t.Errorf("New(unreachable redis) logged %q; want a warning that the policy is unknown", logs.String())
	}
	if got := s.familyKey("f"); got != "jwtauth:rf:{f}" {
		t.Errorf("familyKey(%q) = %q; want the default prefix jwtauth:", "f", got)
	}
}

func TestKeysExpire(t *testing.T) {
	s, r := newTestStore(t)
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateRefresh(ctx, jwtauth.RefreshToken{Family: "f", Hash: "h", Subject: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DenyToken(ctx, "j", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	keys, err := r.Client.Keys(ctx, r.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	// The family, its token, the jti and the index of revocations.
	if len(keys) != 4 {
		t.Errorf("keys = %v; want 4", keys)
	}
	for _, k := range keys {
		if ttl := r.Client.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("PTTL(%s) = %v; want (0, 1h]", k, ttl)
		}
		if strings.HasSuffix(k, ":h") && !strings.Contains(k, "{f}") {
			t.Errorf("token key %s lacks the family hash tag", k)
		}
	}
}

func TestCorruptRecord(t *testing.T) {
	s, r := newTestStore(t)
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateRefresh(ctx, jwtauth.RefreshToken{Family: "f", Hash: "h", Subject: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a|x|1", "a|1"} {
		r.Client.Set(ctx, s.tokenKey("f", "h"), v, time.Hour)
		_, err := s.RotateRefresh(ctx, "h", jwtauth.RefreshToken{Family: "f", Hash: "h2", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		if !errors.Is(err, errCorrupt) || errors.Is(err, jwtauth.ErrRefreshInvalid) {
			t.Errorf("RotateRefresh(record %q) = %v; want a corruption error", v, err)
		}
	}
}

func BenchmarkRevoked(b *testing.B) {
	s, _ := newTestStore(b)
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
