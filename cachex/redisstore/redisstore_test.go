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

	"github.com/covetgo/covet/testenv"
)

var quiet = WithLogger(slog.New(slog.DiscardHandler))

func TestNewRejects(t *testing.T) {
	var nilClient *redis.Client
	var nilCluster *redis.ClusterClient
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = ok.Close() })
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   []Option
		want   string
	}{
		{"nil client", nil, nil, "client is nil"},
		{"typed nil client", nilClient, nil, "client is nil"},
		{"typed nil cluster", nilCluster, nil, "client is nil"},
		{"empty prefix", ok, []Option{WithKeyPrefix("")}, "WithKeyPrefix: empty prefix"},
		{"braces", ok, []Option{WithKeyPrefix("{shop}:")}, "must not hold"},
		{"timeout", ok, []Option{WithTimeout(0)}, "WithTimeout"},
		{"breaker threshold", ok, []Option{WithBreaker(0, time.Second)}, "WithBreaker"},
		{"breaker cooldown", ok, []Option{WithBreaker(1, 0)}, "WithBreaker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tier, err := New(tt.client, tt.opts...)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%s) = %v, %v; want an error mentioning %q", tt.name, tier, err, tt.want)
			}
		})
	}
	if tier, err := New(ok); err != nil || tier.cfg.prefix != defaultKeyPrefix {
		t.Fatalf("New(client) = %v, %v; want the default prefix", tier, err)
	}
}

func TestTierRoundTrip(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	tier, err := New(r.Client, WithKeyPrefix(r.Prefix), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := tier.Set(ctx, []string{"a", "b"}, [][]byte{[]byte("1"), []byte("2")}, []time.Duration{time.Minute, 0}, nil); err != nil {
		t.Fatal(err)
	}
	if ttl := r.Client.PTTL(ctx, r.Key("a")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL(a) = %v; want at most a minute", ttl)
	}
	for _, keys := range [][]string{{"a"}, {"missing"}, {"a", "missing", "b"}} {
		got, err := tier.Get(ctx, keys)
		if err != nil || len(got) != len(keys) {
			t.Fatalf("Get(%q) = %q, %v", keys, got, err)
		}
		for i, k := range keys {
			want := map[string]string{"a": "1", "b": "2"}[k]
			if string(got[i]) != want || (want == "") != (got[i] == nil) {
				t.Fatalf("Get(%q)[%d] = %q; want %q", keys, i, got[i], want)
			}
		}
	}
	// A key of another type reads as absent, and Redis counts as up.
	_ = r.Client.HSet(ctx, r.Key("h"), "f", "v").Err()
	if got, err := tier.Get(ctx, []string{"h", "a"}); err != nil || got[0] != nil || string(got[1]) != "1" {
		t.Fatalf("Get(hash, a) = %q, %v", got, err)
	}
	added, err := tier.Add(ctx, []string{"a", "c"}, [][]byte{[]byte("x"), []byte("3")})
	if err != nil || string(added[0]) != "1" || string(added[1]) != "3" {
		t.Fatalf("Add = %q, %v; want the existing 1 and the new 3", added, err)
	}
	if err := tier.Delete(ctx, []string{"a", "c"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := r.Client.Exists(ctx, r.Key("a"), r.Key("c")).Val(); n != 0 {
		t.Fatalf("%d keys left after Delete", n)
	}
}

func TestSubscribe(t *testing.T) {
	r := testenv.NewRedis(t)
	tier, err := New(r.Client, WithKeyPrefix(r.Prefix), quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	notes := make(chan []byte, 10)
	states := make(chan bool, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tier.Subscribe(ctx, func(n []byte) { notes <- n }, func(up bool) { states <- up })
	}()
	t.Cleanup(func() { cancel(); <-done })
	if up := <-states; !up {
		t.Fatal("first state is down; want up")
	}
	bg := context.Background()
	_ = tier.Set(bg, []string{"k"}, [][]byte{[]byte("v")}, []time.Duration{time.Minute}, []byte("set k"))
	_ = tier.Delete(bg, []string{"k"}, []byte("del k"))
	for _, want := range []string{"set k", "del k"} {
		if got := <-notes; !bytes.Equal(got, []byte(want)) {
			t.Fatalf("note = %q; want %q", got, want)
		}
	}
	if err := r.Client.Do(bg, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	if down, up := <-states, <-states; down || !up {
		t.Fatalf("after the connection was killed states = %v, %v; want down then up", down, up)
	}
}
