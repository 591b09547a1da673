package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
)

// Default addresses used when REDIS_URL or DATABASE_URL is unset.
const (
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// RedisURL returns REDIS_URL or DefaultRedisURL.
func RedisURL() string { return envOr("REDIS_URL", DefaultRedisURL) }

// DatabaseURL returns DATABASE_URL or DefaultDatabaseURL.
func DatabaseURL() string { return envOr("DATABASE_URL", DefaultDatabaseURL) }

// RequireServices reports whether COVET_REQUIRE_SERVICES asks for services to
// be present (a missing service then fails the test instead of skipping it).
func RequireServices() bool {
	v := os.Getenv("COVET_REQUIRE_SERVICES")
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Unavailable skips t (or fails it when services are required) because the
// named service cannot be used.
func Unavailable(t testing.TB, service, addr string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s unavailable at %s: %v (start it, or set %s)", service, redactURL(addr), err, envName(service))
	if RequireServices() {
		t.Fatalf("%s; COVET_REQUIRE_SERVICES=1 forbids skipping", msg)
	}
	t.Skip(msg)
}

func envName(service string) string {
	switch service {
	case "redis":
		return "REDIS_URL"
	case "postgres":
		return "DATABASE_URL"
	}
	return "COVET_REQUIRE_SERVICES=0"
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// RandomID returns n random bytes in hex, for unique names.
func RandomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Redis is a connection to the test Redis with a key prefix owned by one test.
type Redis struct {
	Client *redis.Client
	// Prefix is unique to the test ("covet-test:<id>:"); every key the test
	// writes should start with it so cleanup finds it. It holds no hash tag.
	Prefix string
	// URL is the address the client was built from.
	URL string
}

// Key returns Prefix + name.
func (r *Redis) Key(name string) string { return r.Prefix + name }

// NewRedis connects to REDIS_URL, checks it answers PING and registers a
// cleanup that deletes every key under the test's prefix and closes the client.
func NewRedis(t testing.TB) *Redis {
	t.Helper()
	u := RedisURL()
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("testenv: REDIS_URL %q: %v", redactURL(u), err)
	}
	opt.DialTimeout = 2 * time.Second
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		Unavailable(t, "redis", u, err)
	}
	r := &Redis{Client: c, Prefix: "covet-test:" + RandomID(6) + ":", URL: u}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = DeletePrefix(ctx, c, r.Prefix)
		_ = c.Close()
	})
	return r
}

// DeletePrefix removes every key that starts with prefix (SCAN, then DEL in
// batches). On a cluster client it visits every master.
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, n *redis.Client) error {
		iter := n.Scan(ctx, 0, escapeGlob(prefix)+"*", 500).Iterator()
		for iter.Next(ctx) {
			if err := n.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	switch cc := c.(type) {
	case *redis.ClusterClient:
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return del(ctx, n) })
	case *redis.Client:
		return del(ctx, cc)
	}
	return fmt.Errorf("testenv: unsupported client %T", c)
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

// Postgres is a PostgreSQL connection confined to a schema owned by one test.
type Postgres struct {
	// DB has search_path set to Schema on every connection.
	DB *sqlx.DB
	// Schema is the test's own schema, dropped with CASCADE at cleanup.
	Schema string
	// URL connects with the same search_path (for tools and second pools).
	URL string
}

// NewPostgres creates a fresh schema in DATABASE_URL's database and returns a
// pool whose connections use it. The schema is dropped at cleanup.
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	base := DatabaseURL()
	admin := openPG(t, base)
	schema := "covet_test_" + RandomID(6)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("testenv: create schema: %v", err)
	}
	su, err := WithParam(base, "search_path", schema)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	db, err := sqlx.Open("pgx", su)
	if err != nil {
		t.Fatalf("testenv: open: %v", err)
	}
	t.Cleanup(func() {
		_ = db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("testenv: drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	return &Postgres{DB: db, Schema: schema, URL: su}
}

// PostgresDatabase creates a fresh, empty database and returns its URL; the
// database is dropped (WITH FORCE) at cleanup. Use it for tools that work on
// whole databases (pg_dump, pg_restore).
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	base := DatabaseURL()
	admin := openPG(t, base)
	name := "covet_test_" + RandomID(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testenv: DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func openPG(t testing.TB, u string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("pgx", u)
	if err != nil {
		Unavailable(t, "postgres", u, err)
	}
	db.SetMaxOpenConns(2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		Unavailable(t, "postgres", u, err)
	}
	return db
}

// WithParam returns the URL u with the query parameter key set to value.
func WithParam(u, key, value string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", err)
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String(), nil
}
