package stream

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
)

// Conner hands out a single connection: *sql.DB and *sqlx.DB have it.
type Conner interface {
	Conn(ctx context.Context) (*sql.Conn, error)
}

// Copy streams query as CSV through PostgreSQL's
// COPY (query) TO STDOUT (FORMAT csv, HEADER) and pgx's CopyTo: the server
// formats the rows and this process only rewrites the CSV on the fly, which
// is several times cheaper than scanning rows.
//
// The CSV is parsed as it streams, so header renaming, WithoutHeader, the
// NULL token, formula neutralising (with WithRawColumns) and the row and
// time limits apply as with Query. What differs is value formatting: each
// value is PostgreSQL's own text output in the session's settings
// (booleans t/f; timestamps like "2006-01-02 15:04:05.999999+00" in the
// session TimeZone; floats may use exponents) instead of Query's typed
// formatting; format in the query (to_char, or to_json(ts)#>>'{}' for ISO
// 8601) where that matters. Copy writes CSV only and takes no arguments:
// COPY cannot bind parameters, so query is spliced into the statement and
// must be a constant or built only from trusted parts, never from request
// input. db must be a pgx stdlib pool (ErrNotPostgres otherwise).
//
// Errors are handled as by Query; a client that leaves or a limit that is
// hit closes the connection under the COPY, which ends it on the server.
func (e *Exporter) Copy(w http.ResponseWriter, r *http.Request, db Conner, query string) error {
	ctx, cancel := e.context(r)
	defer cancel()
	s := newSink(w, e, r)
	if e.cfg.format != CSV {
		return e.fail(ctx, w, r, s, fmt.Errorf("%w: Copy writes CSV only", ErrInvalidConfig))
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return e.fail(ctx, w, r, s, err)
	}
	defer conn.Close()
	// The newline keeps a trailing "-- comment" in query from swallowing the rest.
	stmt := "COPY (" + strings.TrimRight(strings.TrimSpace(query), "; \t\r\n") + "\n) TO STDOUT (FORMAT csv, HEADER"
	if e.cfg.null != "" {
		stmt += ", NULL '" + strings.ReplaceAll(e.cfg.null, "'", "''") + "'"
	}
	stmt += ")"
	cw := &copyWriter{s: s, e: e}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("%w (driver connection %T)", ErrNotPostgres, dc)
		}
		_, err := c.Conn().PgConn().CopyTo(ctx, cw, stmt)
		return err
	})
	if err == nil && cw.st != stFieldStart {
		err = fmt.Errorf("stream: COPY output ended inside a row")
	}
	if err == nil {
		err = s.flush()
	}
	if err != nil {
		return e.fail(ctx, w, r, s, err)
	}
	return nil
}

// copyWriter states.
const (
	stFieldStart   = iota // before a field's first byte
	stQuotedStart         // after a field's opening quote
	stUnquoted            // inside an unquoted field
	stQuoted              // inside a quoted field
	stQuotedQuote         // after a quote inside a quoted field: end or escape
	stPending             // holding a field's first bytes until neutralising is decided
	stPendingQuote        // pending, quoted field, after a quote
)

// maxPending bounds the bytes held while deciding whether a field that
// starts with + or - is a plain number; a longer one is neutralised.
const maxPending = 256

// copyWriter rewrites COPY's CSV output as it arrives: it holds the header
// row back to rename it, and inserts the neutralising quote at the start of
// text fields that look like formulas.
type copyWriter struct {
	s       *sink
	e       *Exporter
	st      int
	col     int
	quoted  bool // the pending field is quoted
	pending []byte
	raw     []bool
	header  []byte // the header row while it is read
	inHead  bool
	started bool
}

// Write consumes any chunk of the CSV stream (pgx passes one row per call).
func (cw *copyWriter) Write(p []byte) (int, error) {
	if !cw.started {
		cw.started, cw.inHead = true, true
	}
	n := len(p)
	for len(p) > 0 {
		if cw.inHead {
			i := cw.headerEnd(p)
			if i < 0 {
				cw.header = append(cw.header, p...)
				if len(cw.header) > 1<<20 {
					return 0, fmt.Errorf("stream: COPY header row too long")
				}
				return n, nil
			}
			cw.header = append(cw.header, p[:i+1]...)
			p = p[i+1:]
			if err := cw.endHeader(); err != nil {
				return 0, err
			}
			continue
		}
		var err error
		p, err = cw.step(p)
		if err != nil {
			return 0, err
		}
	}
	if len(cw.s.buf) >= cw.e.cfg.flushBytes {
		if err := cw.s.flush(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// headerEnd tracks quoting through the header row and returns the index of
// its final newline in p, or -1.
func (cw *copyWriter) headerEnd(p []byte) int {
	for i, c := range p {
		switch {
		case c == '"':
			cw.quoted = !cw.quoted
		case c == '\n' && !cw.quoted:
			return i
		}
	}
	return -1
}

func (cw *copyWriter) endHeader() error {
	cw.inHead, cw.quoted = false, false
	rec, err := csv.NewReader(bytes.NewReader(cw.header)).Read()
	if err != nil {
		return fmt.Errorf("stream: COPY header row: %w", err)
	}
	cw.header = nil
	cw.raw = make([]bool, len(rec))
	for i, c := range rec {
		cw.raw[i] = cw.e.cfg.raw[c]
	}
	if !cw.e.cfg.noHeader {
		for i, n := range cw.e.headerNames(rec) {
			if i > 0 {
				cw.s.buf = append(cw.s.buf, ',')
			}
			cw.s.buf = appendCSVText(cw.s.buf, []byte(n), false, cw.e.cfg.null)
		}
		cw.s.buf = append(cw.s.buf, '\n')
	}
	return nil
}

func (cw *copyWriter) rawCol() bool { return cw.col < len(cw.raw) && cw.raw[cw.col] }

// step consumes a prefix of p and returns the rest. The states that copy a
// field's body, where most bytes go, are handled here; the others at a
// field's edges have methods of their own.
func (cw *copyWriter) step(p []byte) ([]byte, error) {
	s := cw.s
	switch cw.st {
	case stFieldStart:
		return cw.fieldStart(p)
	case stQuotedStart:
		if p[0] == '"' {
			s.buf = append(s.buf, '"')
			cw.st = stQuotedQuote
			return p[1:], nil
		}
		cw.quoted = true
		return cw.first(p)
	case stUnquoted:
		i := indexDelim(p)
		if i < 0 {
			s.buf = append(s.buf, p...)
			return nil, nil
		}
		s.buf = append(s.buf, p[:i]...)
		cw.st = stFieldStart
		return p[i:], nil
	case stQuoted:
		i := bytes.IndexByte(p, '"')
		if i < 0 {
			s.buf = append(s.buf, p...)
			return nil, nil
		}
		s.buf = append(s.buf, p[:i+1]...)
		cw.st = stQuotedQuote
		return p[i+1:], nil
	case stQuotedQuote:
		return cw.afterQuote(p)
	case stPending:
		return cw.pendingBytes(p), nil
	default: // stPendingQuote
		return cw.pendingQuote(p), nil
	}
}

// fieldStart handles the byte before a field: an opening quote, the comma
// of an empty field, the newline that ends the row, or the field's first
// content byte.
func (cw *copyWriter) fieldStart(p []byte) ([]byte, error) {
	switch p[0] {
	case '"':
		cw.s.buf = append(cw.s.buf, '"')
		cw.st = stQuotedStart
		return p[1:], nil
	case ',':
		cw.s.buf = append(cw.s.buf, ',')
		cw.col++
		return p[1:], nil
	case '\n':
		return p[1:], cw.endRow()
	}
	cw.quoted = false
	return cw.first(p)
}

// afterQuote handles the byte after a quote inside a quoted field: a second
// quote (an escaped one) or the delimiter that ends the field.
func (cw *copyWriter) afterQuote(p []byte) ([]byte, error) {
	if p[0] == '"' {
		cw.s.buf = append(cw.s.buf, '"')
		cw.st = stQuoted
		return p[1:], nil
	}
	cw.st = stFieldStart
	if p[0] != ',' && p[0] != '\n' {
		return nil, fmt.Errorf("stream: malformed COPY output after a quoted field")
	}
	return p, nil
}

// pendingBytes holds a field's first bytes until [copyWriter.decide] knows
// whether the field needs neutralising.
func (cw *copyWriter) pendingBytes(p []byte) []byte {
	for i, c := range p {
		if (!cw.quoted && (c == ',' || c == '\n')) || (cw.quoted && c == '"') {
			if cw.quoted {
				cw.st = stPendingQuote
				return p[i+1:]
			}
			cw.decide(decideEnd)
			return p[i:]
		}
		cw.pending = append(cw.pending, c)
		if cw.decide(decideByte) {
			return p[i+1:]
		}
	}
	return nil
}

// pendingQuote handles the byte after a quote met while bytes are pending:
// an escaped quote, or the end of the quoted field.
func (cw *copyWriter) pendingQuote(p []byte) []byte {
	if p[0] == '"' { // an escaped quote: not a number
		cw.pending = append(cw.pending, '"', '"')
		cw.decide(decideQuote)
		return p[1:]
	}
	cw.decide(decideEnd)
	cw.s.buf = append(cw.s.buf, '"')
	cw.st = stFieldStart
	return p
}

// indexDelim returns the index of the first comma or newline in p, or -1;
// a plain loop beats bytes.IndexAny on COPY's short fields.
func indexDelim(p []byte) int {
	for i, c := range p {
		if c == ',' || c == '\n' {
			return i
		}
	}
	return -1
}

// first handles a field's first content byte.
func (cw *copyWriter) first(p []byte) ([]byte, error) {
	next := stUnquoted
	if cw.quoted {
		next = stQuoted
	}
	c := p[0]
	if cw.rawCol() || (!formulaTrigger(c) && c != 0xEF) {
		cw.st = next
		return p, nil
	}
	if c == '-' || c == '+' || c == 0xEF {
		cw.pending = cw.pending[:0]
		cw.st = stPending
		return p, nil
	}
	cw.s.buf = append(cw.s.buf, '\'')
	cw.st = next
	return p, nil
}

// How decide is called.
const (
	decideByte  = iota // a content byte was added: decide if the bytes allow
	decideEnd          // the field ended
	decideQuote        // an escaped quote was added: the field is not a number
)

// decide emits the pending bytes, neutralised if needed, once the answer is
// known: always at the field's end, earlier when the bytes already rule a
// plain number or a fullwidth sign in or out. It reports whether it emitted.
func (cw *copyWriter) decide(how int) bool {
	pend := cw.pending
	var neut bool
	switch {
	case how == decideEnd:
		neut = needsNeutralising(pend)
	case pend[0] == 0xEF:
		if len(pend) < 3 && how == decideByte {
			return false
		}
		neut = fullwidth(pend)
	case how == decideQuote:
		neut = true
	default:
		last := pend[len(pend)-1]
		numeric := len(pend) == 1 || last >= '0' && last <= '9' || (last == '.' && bytes.IndexByte(pend[:len(pend)-1], '.') < 0)
		if numeric && len(pend) < maxPending {
			return false
		}
		neut = true
	}
	if neut {
		cw.s.buf = append(cw.s.buf, '\'')
	}
	cw.s.buf = append(cw.s.buf, pend...)
	cw.pending = cw.pending[:0]
	switch {
	case how == decideEnd:
		cw.st = stFieldStart
	case cw.quoted:
		cw.st = stQuoted
	default:
		cw.st = stUnquoted
	}
	return true
}

func (cw *copyWriter) endRow() error {
	cw.s.buf = append(cw.s.buf, '\n')
	cw.col = 0
	cw.st = stFieldStart
	return cw.s.endRow()
}
