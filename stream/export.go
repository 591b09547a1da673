package stream

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/covetgo/covet/problem"
)

// Errors an export reports; an error after the first byte is also logged.
var (
	// ErrRowLimit: the result has more rows than WithMaxRows allows.
	ErrRowLimit = errors.New("stream: row limit exceeded")
	// ErrTimeLimit: the export ran longer than WithMaxDuration allows.
	ErrTimeLimit = errors.New("stream: time limit exceeded")
	// ErrAborted: the client went away (or its connection failed) before
	// the export was sent whole. The error also wraps the request
	// context's error (context.Canceled) when that is how it ended.
	ErrAborted = errors.New("stream: export aborted by the client")
	// ErrInvalidConfig: a constructor was given a bad argument or option.
	ErrInvalidConfig = errors.New("stream: invalid configuration")
)

// Format selects the output encoding.
type Format int

const (
	// CSV is RFC 4180 CSV with LF line ends, as COPY writes it.
	CSV Format = iota
	// NDJSON is one JSON object per line, keyed by the header names.
	NDJSON
)

// Queryer runs a query: *sqlx.DB, *sqlx.Tx and *sqlx.Conn have it.
type Queryer interface {
	QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error)
}

// ErrorHandler writes the response for an error that happened before the
// first byte of the export was sent; StatusOf gives the status code the
// default handler uses.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// Option configures an Exporter.
type Option func(*config)

type config struct {
	format       Format
	filename     string
	null         string
	rename       map[string]string
	noHeader     bool
	raw          map[string]bool
	flushRows    int
	flushBytes   int
	maxRows      int64
	maxDuration  time.Duration
	writeTimeout time.Duration
	logger       *slog.Logger
	onError      ErrorHandler
	errs         []error
	csvOnly      []string // options given that apply to CSV only
}

// WithFormat selects CSV (default) or NDJSON.
func WithFormat(f Format) Option {
	return func(c *config) {
		if f != CSV && f != NDJSON {
			c.errs = append(c.errs, fmt.Errorf("%w: unknown format %d", ErrInvalidConfig, f))
		}
		c.format = f
	}
}

// WithFilename sets the download name in Content-Disposition (default
// "export.csv" or "export.ndjson"). Path parts and unsafe characters are
// removed; non-ASCII names are sent as RFC 6266 filename*.
func WithFilename(name string) Option { return func(c *config) { c.filename = name } }

// WithNull sets the CSV token for SQL NULL (default: empty, unquoted; empty
// strings are then written as ""). It may not hold a comma, quote or line
// break. NDJSON always writes null: New fails when both are given.
func WithNull(token string) Option {
	return func(c *config) {
		c.csvOnly = append(c.csvOnly, "WithNull")
		if strings.ContainsAny(token, ",\"\r\n") {
			c.errs = append(c.errs, fmt.Errorf("%w: NULL token %q holds a comma, quote or line break", ErrInvalidConfig, token))
		}
		c.null = token
	}
}

// WithHeader renames columns in the header row (CSV) or keys (NDJSON):
// column name → header name. Columns not in the map keep their name.
func WithHeader(names map[string]string) Option { return func(c *config) { c.rename = names } }

// WithoutHeader leaves out the CSV header row. NDJSON has none: New fails
// when both are given.
func WithoutHeader() Option {
	return func(c *config) { c.noHeader = true; c.csvOnly = append(c.csvOnly, "WithoutHeader") }
}

// WithRawColumns turns formula neutralising off for the named columns
// (by column name, before renaming). Use it only for columns whose values
// cannot come from users. NDJSON is never neutralised: New fails when both
// are given.
func WithRawColumns(columns ...string) Option {
	return func(c *config) {
		c.csvOnly = append(c.csvOnly, "WithRawColumns")
		for _, col := range columns {
			c.raw[col] = true
		}
	}
}

// WithFlush sends buffered output to the client every rows rows or bytes
// bytes, whichever comes first (default 1000 rows, 32 KiB). The buffer
// holds about bytes plus one row, which bounds the export's memory.
func WithFlush(rows, bytes int) Option {
	return func(c *config) {
		if rows < 1 || bytes < 512 {
			c.errs = append(c.errs, fmt.Errorf("%w: flush every %d rows / %d bytes (want ≥ 1 row, ≥ 512 bytes)", ErrInvalidConfig, rows, bytes))
		}
		c.flushRows, c.flushBytes = rows, bytes
	}
}

// WithMaxRows fails the export with ErrRowLimit when the result has more
// than n rows (default: no limit).
func WithMaxRows(n int64) Option {
	return func(c *config) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("%w: max rows %d", ErrInvalidConfig, n))
		}
		c.maxRows = n
	}
}

// WithMaxDuration cancels the query and fails the export with ErrTimeLimit
// after d (default: no limit beyond the request's context).
func WithMaxDuration(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: max duration %s", ErrInvalidConfig, d))
		}
		c.maxDuration = d
	}
}

// WithWriteTimeout sets how far the connection's write deadline is pushed
// at each flush (default 30s), so a long export survives the server's
// WriteTimeout while a stalled client still times out.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: write timeout %s", ErrInvalidConfig, d))
		}
		c.writeTimeout = d
	}
}

// WithLogger sets the logger for errors after the first byte (default
// slog.Default()). It must not be nil.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLogger: nil logger", ErrInvalidConfig))
		}
		c.logger = l
	}
}

// WithErrorHandler replaces the default problem+json error response. It
// must not be nil.
func WithErrorHandler(h ErrorHandler) Option {
	return func(c *config) {
		if h == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithErrorHandler: nil handler", ErrInvalidConfig))
		}
		c.onError = h
	}
}

// Exporter streams query results to HTTP responses. It holds only its
// settings and is safe for concurrent use.
type Exporter struct {
	cfg config
	now func() time.Time
}

// New returns an Exporter, or an error matching ErrInvalidConfig.
func New(opts ...Option) (*Exporter, error) {
	c := config{flushRows: 1000, flushBytes: 32 << 10, writeTimeout: 30 * time.Second, raw: map[string]bool{}}
	for _, o := range opts {
		o(&c)
	}
	if c.format == NDJSON {
		for _, name := range c.csvOnly {
			c.errs = append(c.errs, fmt.Errorf("%w: %s applies to CSV only, not NDJSON", ErrInvalidConfig, name))
		}
	}
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	if c.filename == "" {
		c.filename = "export.csv"
		if c.format == NDJSON {
			c.filename = "export.ndjson"
		}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.onError == nil {
		c.onError = WriteProblem
	}
	return &Exporter{cfg: c, now: time.Now}, nil
}

// WriteProblem is the default ErrorHandler: status StatusOf(err) and an
// RFC 9457 problem+json body naming the kind of failure, never the
// database's message.
func WriteProblem(w http.ResponseWriter, _ *http.Request, err error) {
	status := StatusOf(err)
	title := map[int]string{
		http.StatusGatewayTimeout:      "Export timed out",
		http.StatusUnprocessableEntity: "Export too large",
	}[status]
	if title == "" {
		title = "Export failed"
	}
	problem.Write(w, status, problem.Body(status, title, ""))
}

// StatusOf maps an export error to a status code: 504 for ErrTimeLimit,
// 422 for ErrRowLimit, 500 otherwise.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrTimeLimit):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrRowLimit):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// Query runs query with args on db, bound to the request's context (and
// WithMaxDuration), and streams the rows to w one at a time.
//
// It returns nil when the whole result was sent. When the client goes away
// (its request context is cancelled, or writing to it fails) the query's
// context is cancelled, the rows are closed, and an error wrapping
// [ErrAborted] (and the context's error) is returned, with nothing more
// written: branch on it to record the export as aborted. Any other error
// before the first byte reached the client is answered with the
// ErrorHandler and returned. Any other error after it is logged and the
// response aborted with panic(http.ErrAbortHandler), which net/http (and
// chi's Recoverer) turn into a cut connection, so no client takes a
// truncated export for a whole one.
func (e *Exporter) Query(w http.ResponseWriter, r *http.Request, db Queryer, query string, args ...any) error {
	ctx, cancel := e.context(r)
	defer cancel()
	if typednil.Is(db) {
		return e.fail(ctx, w, r, newSink(w, e, r), fmt.Errorf("%w: Query: nil db", ErrInvalidConfig))
	}
	rows, err := db.QueryxContext(ctx, query, args...)
	if err != nil {
		return e.fail(ctx, w, r, newSink(w, e, r), err)
	}
	return e.write(ctx, cancel, w, r, rows)
}

// Rows streams rows that the caller queried, closing them. Cancellation is
// the caller's: query with r.Context() so that a client that leaves stops
// the query, since closing rows that are still being received reads them
// to the end. Errors are handled and returned as by Query.
func (e *Exporter) Rows(w http.ResponseWriter, r *http.Request, rows *sqlx.Rows) error {
	ctx, cancel := e.context(r)
	defer cancel()
	if rows == nil {
		return e.fail(ctx, w, r, newSink(w, e, r), fmt.Errorf("%w: Rows: nil rows", ErrInvalidConfig))
	}
	return e.write(ctx, cancel, w, r, rows)
}

func (e *Exporter) context(r *http.Request) (context.Context, context.CancelFunc) {
	if e.cfg.maxDuration > 0 {
		return context.WithTimeoutCause(r.Context(), e.cfg.maxDuration, ErrTimeLimit)
	}
	return context.WithCancel(r.Context())
}

func (e *Exporter) write(ctx context.Context, cancel context.CancelFunc, w http.ResponseWriter, r *http.Request, rows *sqlx.Rows) error {
	// Cancel first: closing rows that are still arriving would read them
	// all, while a cancelled query ends at once (pgx, database/sql).
	defer func() { cancel(); _ = rows.Close() }()
	s := newSink(w, e, r)
	cols, err := rows.Columns()
	if err != nil {
		return e.fail(ctx, w, r, s, err)
	}
	raw := make([]bool, len(cols))
	for i, c := range cols {
		raw[i] = e.cfg.raw[c]
	}
	names := e.headerNames(cols)
	var keys [][]byte
	if e.cfg.format == NDJSON {
		keys = make([][]byte, len(names))
		for i, n := range names {
			k := []byte{','}
			if i == 0 {
				k[0] = '{'
			}
			k = appendJSONString(k, []byte(n))
			keys[i] = append(k, ':')
		}
	} else if !e.cfg.noHeader {
		for i, n := range names {
			if i > 0 {
				s.buf = append(s.buf, ',')
			}
			s.buf = appendCSVText(s.buf, []byte(n), false, e.cfg.null)
		}
		s.buf = append(s.buf, '\n')
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return e.fail(ctx, w, r, s, err)
		}
		if e.cfg.format == NDJSON {
			for i, v := range vals {
				s.buf = append(s.buf, keys[i]...)
				s.buf = appendJSONValue(s.buf, v)
			}
			if len(vals) == 0 {
				s.buf = append(s.buf, '{')
			}
			s.buf = append(s.buf, '}', '\n')
		} else {
			for i, v := range vals {
				if i > 0 {
					s.buf = append(s.buf, ',')
				}
				s.buf = appendCSVValue(s.buf, v, raw[i], e.cfg.null)
			}
			s.buf = append(s.buf, '\n')
		}
		if err := s.endRow(); err != nil {
			return e.fail(ctx, w, r, s, err)
		}
	}
	if err := rows.Err(); err != nil {
		return e.fail(ctx, w, r, s, err)
	}
	if err := s.flush(); err != nil {
		return e.fail(ctx, w, r, s, err)
	}
	return nil
}

func (e *Exporter) headerNames(cols []string) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		if n, ok := e.cfg.rename[c]; ok {
			c = n
		}
		names[i] = c
	}
	return names
}

// fail reports err: ErrAborted when the client has gone, else a problem
// response if nothing was sent yet, else a log line and an aborted response.
func (e *Exporter) fail(ctx context.Context, w http.ResponseWriter, r *http.Request, s *sink, err error) error {
	if errors.Is(context.Cause(ctx), ErrTimeLimit) && !errors.Is(err, ErrTimeLimit) {
		err = fmt.Errorf("%w: %w", ErrTimeLimit, err)
	}
	if cerr := r.Context().Err(); cerr != nil || s.writeFailed {
		// Nothing can reach the client any more: say so to the caller.
		if cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", err, cerr)
		}
		if s.started {
			e.cfg.logger.Log(r.Context(), slog.LevelInfo, "stream: export aborted by the client",
				slog.String("path", r.URL.Path), slog.Int64("rows", s.rows), slog.Any("error", err))
		}
		return fmt.Errorf("%w after %d rows: %w", ErrAborted, s.rows, err)
	}
	if !s.started {
		e.cfg.onError(w, r, err)
		return err
	}
	e.cfg.logger.Log(r.Context(), slog.LevelError, "stream: export aborted after the first byte",
		slog.String("path", r.URL.Path), slog.Int64("rows", s.rows), slog.Any("error", err))
	panic(http.ErrAbortHandler)
}

// sink buffers output and sends it with the export's headers on first use.
type sink struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	e       *Exporter
	buf     []byte
	rows    int64
	started bool

	writeFailed bool // a write to the client failed: it has gone
}

func newSink(w http.ResponseWriter, e *Exporter, _ *http.Request) *sink {
	return &sink{w: w, rc: http.NewResponseController(w), e: e, buf: make([]byte, 0, min(e.cfg.flushBytes, 256<<10)+4096)}
}

// endRow counts a row and flushes when a threshold is reached.
func (s *sink) endRow() error {
	s.rows++
	if s.e.cfg.maxRows > 0 && s.rows > s.e.cfg.maxRows {
		return fmt.Errorf("%w (%d)", ErrRowLimit, s.e.cfg.maxRows)
	}
	if len(s.buf) >= s.e.cfg.flushBytes || s.rows%int64(s.e.cfg.flushRows) == 0 {
		return s.flush()
	}
	return nil
}

func (s *sink) flush() error {
	if !s.started {
		s.started = true
		s.e.setHeaders(s.w.Header())
		s.w.WriteHeader(http.StatusOK)
	}
	if len(s.buf) == 0 {
		return nil
	}
	_ = s.rc.SetWriteDeadline(s.e.now().Add(s.e.cfg.writeTimeout))
	if _, err := s.w.Write(s.buf); err != nil {
		s.writeFailed = true
		return fmt.Errorf("stream: write: %w", err)
	}
	s.buf = s.buf[:0]
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.writeFailed = true
		return fmt.Errorf("stream: flush: %w", err)
	}
	return nil
}

func (e *Exporter) setHeaders(h http.Header) {
	switch {
	case e.cfg.format == NDJSON:
		h.Set("Content-Type", "application/x-ndjson")
	case e.cfg.noHeader:
		h.Set("Content-Type", "text/csv; charset=utf-8; header=absent")
	default:
		h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
	}
	h.Set("Content-Disposition", contentDisposition(e.cfg.filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

// appendCSVValue formats one scanned value.
func appendCSVValue(dst []byte, v any, raw bool, null string) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, null...)
	case string:
		return appendCSVText(dst, []byte(x), raw, null)
	case []byte:
		return appendCSVText(dst, x, raw, null)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		return appendFloat(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case time.Time:
		return appendTime(dst, x)
	}
	return appendCSVText(dst, fmt.Append(nil, v), raw, null)
}

func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendJSONString(dst, []byte(x))
	case []byte:
		return appendJSONString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		if x != x || x > 1.7976931348623157e308 || x < -1.7976931348623157e308 {
			return appendJSONString(dst, appendFloat(nil, x))
		}
		return appendFloat(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case time.Time:
		dst = append(dst, '"')
		dst = appendTime(dst, x)
		return append(dst, '"')
	case driver.Valuer:
		if dv, err := x.Value(); err == nil {
			if _, again := dv.(driver.Valuer); !again {
				return appendJSONValue(dst, dv)
			}
		}
	}
	return appendJSONString(dst, fmt.Append(nil, v))
}
