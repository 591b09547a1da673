package stream_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/covetgo/covet/stream"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"
)

func exampleDB() (*sqlx.DB, func()) {
	dir, _ := os.MkdirTemp("", "stream-example")
	db := sqlx.MustOpen("sqlite", "file:"+filepath.Join(dir, "ex.db"))
	db.MustExec("CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, email TEXT)")
	db.MustExec(`INSERT INTO users VALUES (1, 'ada', 'ada@example.com'), (2, '=HYPERLINK("http://x")', NULL)`)
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

func ExampleExporter_Query() {
	db, done := exampleDB()
	defer done()
	exp, err := stream.New(stream.WithFilename("users.csv"), stream.WithHeader(map[string]string{"email": "e-mail"}))
	if err != nil {
		panic(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = exp.Query(w, r, db, "SELECT id, username, email FROM users ORDER BY id")
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/users.csv", nil))
	fmt.Println(w.Header().Get("Content-Disposition"))
	fmt.Print(w.Body.String())
	// Output:
	// attachment; filename="users.csv"
	// id,username,e-mail
	// 1,ada,ada@example.com
	// 2,"'=HYPERLINK(""http://x"")",
}

func ExampleWithFormat() {
	db, done := exampleDB()
	defer done()
	exp, _ := stream.New(stream.WithFormat(stream.NDJSON))
	w := httptest.NewRecorder()
	_ = exp.Query(w, httptest.NewRequest(http.MethodGet, "/", nil), db, "SELECT id, email FROM users ORDER BY id")
	fmt.Print(w.Body.String())
	// Output:
	// {"id":1,"email":"ada@example.com"}
	// {"id":2,"email":null}
}

func ExampleNewKeyset() {
	db, done := exampleDB()
	defer done()
	type user struct {
		ID   int64  `db:"id"`
		Name string `db:"username"`
	}
	k, _ := stream.NewKeyset(db, "SELECT id, username FROM users WHERE id > ? ORDER BY id LIMIT ?", 1,
		func(u user) []any { return []any{u.ID} }, 0)
	for batch, err := range k.All(context.Background()) {
		if err != nil {
			panic(err)
		}
		fmt.Println(len(batch), batch[0].ID)
	}
	// Output:
	// 1 1
	// 1 2
}

// Passing CSV from another source through an Exporter: its header is
// renamed and formulas are neutralised as for Query. The subpackage pgcopy
// uses this for PostgreSQL's COPY.
func ExampleExporter_CSV() {
	exp, err := stream.New(stream.WithHeader(map[string]string{"name": "Name"}))
	if err != nil {
		panic(err)
	}
	src := func(ctx context.Context, dst io.Writer, null string) error {
		_, err := io.WriteString(dst, "id,name\n1,ada\n2,=cmd()\n3,"+null+"\n")
		return err
	}
	w := httptest.NewRecorder()
	if err := exp.CSV(w, httptest.NewRequest(http.MethodGet, "/", nil), src); err != nil {
		panic(err)
	}
	fmt.Print(w.Body.String())
	// Output:
	// id,Name
	// 1,ada
	// 2,'=cmd()
	// 3,
}
