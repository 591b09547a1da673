// Package pgcopy is the PostgreSQL COPY fast path of package
// [github.com/covetgo/covet/stream]: the server formats the rows as CSV
// (COPY (query) TO STDOUT (FORMAT csv, HEADER), received through pgx's
// CopyTo) and the Exporter only rewrites the CSV as it streams, which is
// several times cheaper than scanning rows.
//
// It is a package of its own so that an export that does not use COPY
// links no pgx: import it only where COPY is used.
//
//	exp, err := stream.New(stream.WithFilename("users.csv"))
//	...
//	mux.HandleFunc("GET /users.csv", func(w http.ResponseWriter, r *http.Request) {
//		_ = pgcopy.Export(exp, w, r, db, "SELECT id, email FROM users")
//	})
package pgcopy
