package streambench

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/covetgo/covet/stream"
	"github.com/covetgo/covet/stream/pgcopy"
	"github.com/covetgo/covet/testenv"
	"github.com/jmoiron/sqlx"
)

// discard is a ResponseWriter that drops the body, so the figures are the
// export's own cost.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

const rows = 100_000

func setup(b *testing.B) (*sqlx.DB, string) {
	b.Helper()
	pg := testenv.NewPostgres(b)
	pg.DB.MustExec(`CREATE TABLE users AS SELECT g::bigint AS id, 'user' || g AS username, 'user' || g || '@example.com' AS email,
		CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END AS status,
		timestamptz '2024-01-01' + g * interval '17 seconds' AS created_at
		FROM generate_series(1, ` + strconv.Itoa(rows) + `) g`)
	return pg.DB, "SELECT id, username, email, created_at FROM users WHERE status = 'active'"
}

// BenchmarkExport exports 90,000 rows per op.
func BenchmarkExport(b *testing.B) {
	db, query := setup(b)
	exp, err := stream.New()
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/export", nil)
	b.Run("stream.Copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := pgcopy.Export(exp, &discard{h: http.Header{}}, req, db, query); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stream.Query", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := exp.Query(&discard{h: http.Header{}}, req, db, query); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sqlx+encoding/csv", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := naive(io.Discard, db, query); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func naive(w io.Writer, db *sqlx.DB, query string) error {
	rs, err := db.Queryx(query)
	if err != nil {
		return err
	}
	defer rs.Close()
	cw := csv.NewWriter(w)
	var id int64
	var u, e string
	var c time.Time
	for rs.Next() {
		if err := rs.Scan(&id, &u, &e, &c); err != nil {
			return err
		}
		_ = cw.Write([]string{strconv.FormatInt(id, 10), u, e, c.Format(time.RFC3339Nano)})
	}
	cw.Flush()
	return rs.Err()
}
