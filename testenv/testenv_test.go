package testenv

import (
	"context"
	"fmt"
	"testing"
)

func TestRedisPrefixCleanup(t *testing.T) {
	var prefix string
	var r *Redis
	t.Run("use", func(t *testing.T) {
		r = NewRedis(t)
		prefix = r.Prefix
		if err := r.Client.Set(context.Background(), r.Key("a"), "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if prefix == "" {
		t.Skip("redis unavailable")
	}
	check := NewRedis(t)
	n, err := check.Client.Exists(context.Background(), prefix+"a").Result()
	if err != nil || n != 0 {
		t.Fatalf("key under %q left behind: n=%d err=%v", prefix, n, err)
	}
}

func TestPostgresSchema(t *testing.T) {
	var schema string
	t.Run("use", func(t *testing.T) {
		pg := NewPostgres(t)
		schema = pg.Schema
		if _, err := pg.DB.Exec("CREATE TABLE t (id int)"); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := pg.DB.Get(&got, "SELECT current_schema()"); err != nil || got != schema {
			t.Fatalf("current_schema() = %q, %v; want %q", got, err, schema)
		}
	})
	if schema == "" {
		t.Skip("postgres unavailable")
	}
	pg := NewPostgres(t)
	var n int
	if err := pg.DB.Get(&n, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema); err != nil || n != 0 {
		t.Fatalf("schema %s left behind: n=%d err=%v", schema, n, err)
	}
}

func TestPostgresDatabase(t *testing.T) {
	u := PostgresDatabase(t)
	db := openPG(t, u)
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
}

func TestRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster start is slow")
	}
	c := RedisCluster(t)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if err := c.Set(ctx, fmt.Sprintf("covet-test:k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := DeletePrefix(ctx, c, "covet-test:"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		n, err := c.Exists(ctx, fmt.Sprintf("covet-test:k%d", i)).Result()
		if err != nil || n != 0 {
			t.Fatalf("Exists(k%d) after DeletePrefix = %d, %v; want 0", i, n, err)
		}
	}
}

func TestWithParam(t *testing.T) {
	got, err := WithParam("postgres://u@h/db?sslmode=disable", "search_path", "s1")
	if err != nil || got != "postgres://u@h/db?search_path=s1&sslmode=disable" {
		t.Fatalf("WithParam = %q, %v", got, err)
	}
	if _, err := WithParam("://bad", "a", "b"); err == nil {
		t.Fatal("WithParam(bad url) = nil error")
	}
	if got := redactURL("redis://u:secret@h:1/0"); got != "redis://u:xxxxx@h:1/0" {
		t.Fatalf("redactURL = %q", got)
	}
}
