package stream

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
)

// CSVSource writes CSV text to dst for [Exporter.CSV]: RFC 4180 fields
// separated by commas, a header row with the column names first, each row
// ended by LF (a CR is data), SQL NULL written as null (the Exporter's
// [WithNull] token, empty by default) and an empty string as "". This is
// what PostgreSQL's COPY ... (FORMAT csv, HEADER) writes; the subpackage
// [github.com/covetgo/covet/stream/pgcopy] provides that source. It must
// stop promptly when ctx is done, returning an error.
type CSVSource func(ctx context.Context, dst io.Writer, null string) error

// CSV streams the CSV text that src writes, rewriting it as it arrives so
// that header renaming, WithoutHeader, formula neutralising (with
// WithRawColumns) and the row and time limits apply as with Query; values
// keep the source's own formatting. It writes CSV only: an NDJSON Exporter
// fails with ErrInvalidConfig. Errors are handled and returned as by Query.
func (e *Exporter) CSV(w http.ResponseWriter, r *http.Request, src CSVSource) error {
	ctx, cancel := e.context(r)
	defer cancel()
	s := newSink(w, e, r)
	if e.cfg.format != CSV {
		return e.fail(ctx, w, r, s, fmt.Errorf("%w: an NDJSON Exporter cannot pass CSV through", ErrInvalidConfig))
	}
	if src == nil {
		return e.fail(ctx, w, r, s, fmt.Errorf("%w: nil CSVSource", ErrInvalidConfig))
	}
	cw := &csvRewriter{s: s, e: e}
	err := src(ctx, cw, e.cfg.null)
	if err == nil && cw.st != stFieldStart {
		err = fmt.Errorf("stream: CSV source ended inside a row")
	}
	if err == nil {
		err = s.flush()
	}
	if err != nil {
		return e.fail(ctx, w, r, s, err)
	}
	return nil
}

// csvRewriter states.
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

// csvRewriter rewrites a source's CSV as it arrives: it holds the header
// row back to rename it, and inserts the neutralising quote at the start of
// text fields that look like formulas.
type csvRewriter struct {
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

// Write consumes any chunk of the CSV stream (COPY through pgx passes one
// row per call).
func (cw *csvRewriter) Write(p []byte) (int, error) {
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
					return 0, fmt.Errorf("stream: CSV header row too long")
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
func (cw *csvRewriter) headerEnd(p []byte) int {
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

func (cw *csvRewriter) endHeader() error {
	cw.inHead, cw.quoted = false, false
	rec, err := csv.NewReader(bytes.NewReader(cw.header)).Read()
	if err != nil {
		return fmt.Errorf("stream: CSV header row: %w", err)
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

func (cw *csvRewriter) rawCol() bool { return cw.col < len(cw.raw) && cw.raw[cw.col] }

// step consumes a prefix of p and returns the rest. The states that copy a
// field's body, where most bytes go, are handled here; the others at a
// field's edges have methods of their own.
func (cw *csvRewriter) step(p []byte) ([]byte, error) {
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
func (cw *csvRewriter) fieldStart(p []byte) ([]byte, error) {
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
func (cw *csvRewriter) afterQuote(p []byte) ([]byte, error) {
	if p[0] == '"' {
		cw.s.buf = append(cw.s.buf, '"')
		cw.st = stQuoted
		return p[1:], nil
	}
	cw.st = stFieldStart
	if p[0] != ',' && p[0] != '\n' {
		return nil, fmt.Errorf("stream: malformed CSV after a quoted field")
	}
	return p, nil
}

// pendingBytes holds a field's first bytes until [csvRewriter.decide] knows
// whether the field needs neutralising.
func (cw *csvRewriter) pendingBytes(p []byte) []byte {
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
func (cw *csvRewriter) pendingQuote(p []byte) []byte {
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
func (cw *csvRewriter) first(p []byte) ([]byte, error) {
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
func (cw *csvRewriter) decide(how int) bool {
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

func (cw *csvRewriter) endRow() error {
	cw.s.buf = append(cw.s.buf, '\n')
	cw.col = 0
	cw.st = stFieldStart
	return cw.s.endRow()
}
