package metrics

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/felixge/httpsnoop"
)

// recorder observes what a handler did with its ResponseWriter.
//
// Ordinary requests get a [writer]: it keeps Flusher, Hijacker,
// io.ReaderFrom and Pusher where the server's writer has them and
// implements Unwrap for http.ResponseController. HTTP/1 upgrade requests
// (websockets) go through httpsnoop instead, which keeps every optional
// interface the server's writer has and whose hooks see a Hijack, so a
// hijacked connection is recorded as 101 Switching Protocols rather than
// as an implicit 200.
type recorder struct {
	w     *writer     // ordinary requests
	snoop *snoopState // upgrade path only
}

// errReleased is what a writer kept past its handler's return answers.
var errReleased = errors.New("metrics: write to a response writer after its handler returned")

// writer records the status and body size of one response. It is embedded
// in four types that differ only in which optional interfaces they add,
// chosen from what the server's writer implements, like chi's
// WrapResponseWriter: so a type assertion for Flusher or Hijacker succeeds
// exactly when it would have on the server's writer.
//
// A writer serves one request and is never reused: once its handler
// returned it is released, and from then on it refuses every call that
// would reach the server's writer (writes fail with errReleased, Header
// returns a throwaway map), so a goroutine that kept it cannot write into
// a response the server has finished or reused. Pooling writers would save
// one small allocation per request but hand a kept writer to another
// client.
type writer struct {
	rw     http.ResponseWriter
	code   int
	bytes  int64
	failed bool // a write returned an error
	dead   atomic.Bool
	outer  http.ResponseWriter // the value handed to the handler
}

// Header returns the server's header map, or a fresh one once released.
func (w *writer) Header() http.Header {
	if w.dead.Load() {
		return http.Header{}
	}
	return w.rw.Header()
}

// Unwrap returns the server's writer, for http.ResponseController; nil
// once released.
func (w *writer) Unwrap() http.ResponseWriter {
	if w.dead.Load() {
		return nil
	}
	return w.rw
}

func (w *writer) WriteHeader(code int) {
	if w.dead.Load() {
		return
	}
	if w.code == 0 && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.rw.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if w.dead.Load() {
		return 0, errReleased
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.rw.Write(p)
	w.bytes += int64(n)
	if err != nil {
		w.failed = true
	}
	return n, err
}

// WriteString keeps io.StringWriter: the server's writer has it, and
// io.WriteString would otherwise copy the string.
func (w *writer) WriteString(s string) (int, error) {
	if w.dead.Load() {
		return 0, errReleased
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := io.WriteString(w.rw, s)
	w.bytes += int64(n)
	if err != nil {
		w.failed = true
	}
	return n, err
}

// flushWriter adds Flusher (httptest.ResponseRecorder, most wrappers).
type flushWriter struct{ writer }

func (w *flushWriter) Flush() {
	if w.dead.Load() {
		return
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.rw.(http.Flusher).Flush()
}

// FlushError is what http.ResponseController.Flush calls: it reports a
// failed flush (the client went away), and refuses once released.
func (w *flushWriter) FlushError() error {
	if w.dead.Load() {
		return errReleased
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	err := http.NewResponseController(w.rw).Flush()
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		w.failed = true
	}
	return err
}

// h1Writer is the net/http HTTP/1 writer's set: Flusher, Hijacker and
// io.ReaderFrom (sendfile).
type h1Writer struct{ flushWriter }

func (w *h1Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.dead.Load() {
		return nil, nil, errReleased
	}
	return w.rw.(http.Hijacker).Hijack()
}

func (w *h1Writer) ReadFrom(src io.Reader) (int64, error) {
	if w.dead.Load() {
		return 0, errReleased
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.rw.(io.ReaderFrom).ReadFrom(src)
	w.bytes += n
	if err != nil {
		w.failed = true
	}
	return n, err
}

// h2Writer is the net/http HTTP/2 writer's set: Flusher and Pusher.
type h2Writer struct{ flushWriter }

func (w *h2Writer) Push(target string, opts *http.PushOptions) error {
	if w.dead.Load() {
		return errReleased
	}
	return w.rw.(http.Pusher).Push(target, opts)
}

var (
	_ http.ResponseWriter                       = (*writer)(nil)
	_ http.Flusher                              = (*flushWriter)(nil)
	_ http.Hijacker                             = (*h1Writer)(nil)
	_ io.ReaderFrom                             = (*h1Writer)(nil)
	_ http.Pusher                               = (*h2Writer)(nil)
	_ io.StringWriter                           = (*writer)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*writer)(nil)
)

// newWriter returns a writer for w of the type that matches w's optional
// interfaces.
func newWriter(w http.ResponseWriter, protoMajor int) *writer {
	var pw *writer
	_, flusher := w.(http.Flusher)
	switch {
	case !flusher:
		pw = &writer{}
		pw.outer = pw
	case protoMajor == 2 && isPusher(w):
		x := &h2Writer{}
		x.outer, pw = x, &x.writer
	case protoMajor != 2 && isH1(w):
		x := &h1Writer{}
		x.outer, pw = x, &x.writer
	default:
		x := &flushWriter{}
		x.outer, pw = x, &x.writer
	}
	pw.rw = w
	return pw
}

func isPusher(w http.ResponseWriter) bool { _, ok := w.(http.Pusher); return ok }

func isH1(w http.ResponseWriter) bool {
	if _, ok := w.(http.Hijacker); !ok {
		return false
	}
	_, ok := w.(io.ReaderFrom)
	return ok
}

// isUpgrade reports whether r asks to switch protocols over HTTP/1.
func isUpgrade(r *http.Request) bool {
	return r.ProtoMajor == 1 && len(r.Header["Upgrade"]) > 0
}

// wrap returns the writer to hand to the next handler.
func (rec *recorder) wrap(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	if !isUpgrade(r) {
		rec.w = newWriter(w, r.ProtoMajor)
		return rec.w.outer
	}
	rec.snoop = &snoopState{}
	return rec.snoop.wrap(w)
}

// release makes the writer handed to the handler refuse further use; what
// it recorded stays readable.
func (rec *recorder) release() {
	if rec.w != nil {
		rec.w.dead.Store(true)
	}
}

// failed reports whether a write to the client failed.
func (rec *recorder) failed() bool {
	if rec.w != nil {
		return rec.w.failed
	}
	return rec.snoop != nil && rec.snoop.failed
}

// hijacked reports whether the handler took over the connection.
func (rec *recorder) hijacked() bool {
	return rec.snoop != nil && rec.snoop.hijacked
}

// snoopState is what the httpsnoop hooks record. It is allocated only for
// upgrade requests, so the recorder of an ordinary request stays on the
// stack.
type snoopState struct {
	code     int
	bytes    int64
	wrote    bool
	hijacked bool
	failed   bool
}

func (rec *snoopState) wrap(w http.ResponseWriter) http.ResponseWriter {
	return httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				next(code)
				if !rec.wrote && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
					rec.code, rec.wrote = code, true
				}
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(p []byte) (int, error) {
				n, err := next(p)
				rec.bytes += int64(n)
				rec.wrote = true
				rec.failed = rec.failed || err != nil
				return n, err
			}
		},
		WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(s string) (int, error) {
				n, err := next(s)
				rec.bytes += int64(n)
				rec.wrote = true
				rec.failed = rec.failed || err != nil
				return n, err
			}
		},
		ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) {
				n, err := next(src)
				rec.bytes += n
				rec.wrote = true
				return n, err
			}
		},
		Hijack: func(next httpsnoop.HijackFunc) httpsnoop.HijackFunc {
			return func() (net.Conn, *bufio.ReadWriter, error) {
				c, rw, err := next()
				if err == nil {
					rec.hijacked = true
				}
				return c, rw, err
			}
		},
	})
}

// status returns the status code the client received: the first final
// status written, 101 for a hijacked connection, 200 when the handler wrote
// nothing (net/http's implicit status), or 500 when the handler panicked
// before writing.
func (rec *recorder) status(panicked bool) int {
	code := 0
	if rec.w != nil {
		code = rec.w.code
	} else if s := rec.snoop; s != nil {
		code = s.code
		if s.hijacked && !s.wrote {
			code = http.StatusSwitchingProtocols
		}
	}
	if code == 0 {
		if panicked {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	return code
}

// written returns the number of body bytes written.
func (rec *recorder) written() int64 {
	if rec.w != nil {
		return rec.w.bytes
	}
	if rec.snoop != nil {
		return rec.snoop.bytes
	}
	return 0
}
