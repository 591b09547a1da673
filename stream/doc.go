// Package stream exports query results over HTTP as CSV or NDJSON in
// constant memory, and walks large tables in keyset batches.
//
// # Exports
//
// An [Exporter] runs a query with the request's context and writes each row
// as it is scanned ([Exporter.Query], or [Exporter.Rows] for rows the caller
// queried), so memory stays at one row plus the flush buffer whatever the
// row count. Values are formatted by type: RFC 3339 times in UTC, floats
// without exponent, a configurable NULL token, and a header row from the
// column names or a renaming. Output is flushed every N rows or bytes
// through [net/http.ResponseController], pushing the write deadline forward
// each time.
//
// Responses carry Content-Type, Content-Disposition: attachment with a safe
// filename (RFC 6266 filename* for non-ASCII names), X-Content-Type-Options:
// nosniff and Cache-Control: no-store.
//
// # CSV injection
//
// A text cell that begins with = + - @ tab or CR (the characters OWASP
// lists), or a fullwidth = + - @, is prefixed with a single quote so
// spreadsheets show it as text; a plain signed number such as -12.5 is left
// alone. Neutralising is on by default and can be turned off per column
// with [WithRawColumns]. It does not apply to NDJSON, which spreadsheets do
// not open.
//
// # Errors
//
// An error before the first byte is sent (a bad query, a limit hit early)
// gets a status code and an RFC 9457 problem+json body that names no
// internals. Small exports fit in the first buffer, so any error in them is
// reported this way. An error after the first byte cannot change the
// status: it is logged and the response is aborted with
// panic(http.ErrAbortHandler), so the client sees a cut connection (no final
// chunk) rather than a file that looks whole.
//
// A client that goes away (its request context is cancelled, or a write to
// it fails) cancels the query's context before the rows are closed, so the
// query stops at once, and the export returns an error wrapping
// [ErrAborted] and the context's error, which the caller can branch on
// with errors.Is to record the export as aborted. With a pgx pool opened
// to send cancel requests (package pool does) the server stops the query
// at once; otherwise the dropped connection ends it at its next row.
//
// # CSV from other sources; PostgreSQL COPY
//
// [Exporter.CSV] passes CSV text from a [CSVSource] through the Exporter,
// rewriting the header and neutralising formulas as it streams. The
// subpackage [github.com/covetgo/covet/stream/pgcopy] is such a source for
// PostgreSQL's COPY (query) TO STDOUT, several times cheaper than scanning
// rows; it is the only part that links pgx, so an export that does not use
// COPY does not.
//
// # Keyset iteration
//
// [Keyset] walks a table in batches ordered by a key, so each batch costs
// only its own rows, unlike OFFSET pagination, which re-reads every row it
// skips.
package stream
