package stream

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/jmoiron/sqlx"
)

type user struct {
	ID        int64     `db:"id"`
	Name      string    `db:"username"`
	CreatedAt time.Time `db:"created_at"`
}

func TestKeyset(t *testing.T) {
	pg := testenv.NewPostgres(t)
	pg.DB.MustExec(`CREATE TABLE users AS SELECT g::bigint AS id, 'u' || g AS username,
		timestamptz '2024-01-01' + (g % 7) * interval '1 hour' AS created_at FROM generate_series(1, 25) g`)
	lite := sqliteDB(t)
	lite.MustExec("CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT)")
	for i := 1; i <= 25; i++ {
		lite.MustExec("INSERT INTO users VALUES (?, ?)", i, fmt.Sprint("u", i))
	}
	ctx := context.Background()
	tests := []struct {
		name  string
		db    *sqlx.DB
		query string
		key   func(user) []any
		start []any
	}{
		{"postgres id", pg.DB, "SELECT id, username FROM users WHERE id > $1 ORDER BY id LIMIT $2",
			func(u user) []any { return []any{u.ID} }, []any{0}},
		{"postgres composite", pg.DB, "SELECT id, username, created_at FROM users WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3",
			func(u user) []any { return []any{u.CreatedAt, u.ID} }, []any{time.Time{}, 0}},
		{"sqlite", lite, "SELECT id, username FROM users WHERE id > ? ORDER BY id LIMIT ?",
			func(u user) []any { return []any{u.ID} }, []any{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKeyset(tt.db, tt.query, 10, tt.key, tt.start...)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int64]bool{}
			var sizes []int
			for batch, err := range k.All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(batch))
				for _, u := range batch {
					if seen[u.ID] || u.Name != fmt.Sprint("u", u.ID) {
						t.Fatalf("row %+v seen twice or wrong", u)
					}
					seen[u.ID] = true
				}
			}
			if len(seen) != 25 || fmt.Sprint(sizes) != "[10 10 5]" {
				t.Errorf("saw %d rows in batches %v; want 25 in [10 10 5]", len(seen), sizes)
			}
			if b, err := k.Next(ctx); b != nil || err != nil {
				t.Errorf("Next after the end = %v, %v", b, err)
			}
		})
	}
	// Scalars, an exact multiple of the batch size, and breaking early.
	k, _ := NewKeyset(pg.DB, "SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2", 5, func(id int64) []any { return []any{id} }, 0)
	n := 0
	for b, err := range k.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(b)
		if n == 10 {
			break
		}
	}
	if n != 10 {
		t.Errorf("early break read %d; want 10", n)
	}
}

func TestKeysetErrors(t *testing.T) {
	pg := testenv.NewPostgres(t)
	pg.DB.MustExec("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 5) g")
	key := func(id int64) []any { return []any{id} }
	if _, err := NewKeyset[int64](nil, "", 0, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewKeyset with nothing = %v; want ErrInvalidConfig", err)
	}
	ctx := context.Background()
	cases := []struct {
		name, query string
		key         func(int64) []any
	}{
		{"bad query", "SELECT nope", key},
		{"no limit", "SELECT id FROM t WHERE id > $1 OR $2 = 0 ORDER BY id", key},
		{"key arity", "SELECT id FROM t WHERE id > $1 ORDER BY id LIMIT $2", func(id int64) []any { return []any{id, id} }},
		{"scan", "SELECT id, id FROM t WHERE id > $1 ORDER BY id LIMIT $2", key},
	}
	for _, c := range cases {
		k, err := NewKeyset(pg.DB, c.query, 2, c.key, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range k.All(ctx) {
			if err == nil {
				continue
			}
			break
		}
		if _, err := k.Next(ctx); err == nil && c.name != "no limit" {
			t.Errorf("%s: Next = nil error", c.name)
		}
	}
}

// BenchmarkKeysetVsOffset shows the point of keyset batches: reading the
// last batch of a table costs one batch, where OFFSET reads everything
// before it.
func BenchmarkKeysetVsOffset(b *testing.B) {
	pg := testenv.NewPostgres(b)
	pg.DB.MustExec("CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200000) g")
	pg.DB.MustExec("ALTER TABLE t ADD PRIMARY KEY (id)")
	pg.DB.MustExec("ANALYZE t")
	ctx := context.Background()
	b.Run("offset", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var ids []int64
			if err := pg.DB.SelectContext(ctx, &ids, "SELECT id FROM t ORDER BY id LIMIT 1000 OFFSET 199000"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("keyset", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k, _ := NewKeyset(pg.DB, "SELECT id FROM t WHERE id > $1 ORDER BY id LIMIT $2", 1000, func(id int64) []any { return []any{id} }, 199000)
			if _, err := k.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
