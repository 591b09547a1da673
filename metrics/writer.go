package metrics

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/felixge/httpsnoop"
)

// recorder observes what a handler did with its ResponseWriter.
//
// Ordinary requests get a pooled writer (see [writer]): it keeps Flusher,
// Hijacker, io.ReaderFrom and Pusher where the server's writer has them and
// implements Unwrap for http.ResponseController, and is reused from request
// to request, so instrumenting a request allocates nothing for it. HTTP/1
// upgrade requests (websockets) go through httpsnoop instead, which keeps
// every optional interface the server's writer has and whose hooks see a
// Hijack, so a hijacked connection is recorded as 101 Switching Protocols
// rather than as an implicit 200.
type recorder struct {
	w     *writer     // ordinary requests
	snoop *snoopState // upgrade path only
}

// writer records the status and body size of one response. It is embedded
// in four pooled types that differ only in which optional interfaces they
// add, chosen from what the server's writer implements, like chi's
// WrapResponseWriter: so a type assertion for Flusher or Hijacker succeeds
// exactly when it would have on the server's writer.
type writer struct {
	http.ResponseWriter
	code  int
	bytes int64
	// outer is the pooled value handed to the handler, kept so that it can
	// go back to its pool.
	outer http.ResponseWriter
	pool  uint8 // index in writerPools
}

// Unwrap returns the server's writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *writer) WriteHeader(code int) {
	if w.code == 0 && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// WriteString keeps io.StringWriter: the server's writer has it, and
// io.WriteString would otherwise copy the string.
func (w *writer) WriteString(s string) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := io.WriteString(w.ResponseWriter, s)
	w.bytes += int64(n)
	return n, err
}

// flushWriter adds Flusher (httptest.ResponseRecorder, most wrappers).
type flushWriter struct{ writer }

func (w *flushWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.ResponseWriter.(http.Flusher).Flush()
}

// h1Writer is the net/http HTTP/1 writer's set: Flusher, Hijacker and
// io.ReaderFrom (sendfile).
type h1Writer struct{ flushWriter }

func (w *h1Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

func (w *h1Writer) ReadFrom(src io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.(io.ReaderFrom).ReadFrom(src)
	w.bytes += n
	return n, err
}

// h2Writer is the net/http HTTP/2 writer's set: Flusher and Pusher.
type h2Writer struct{ flushWriter }

func (w *h2Writer) Push(target string, opts *http.PushOptions) error {
	return w.ResponseWriter.(http.Pusher).Push(target, opts)
}

var (
	_ http.Flusher                              = (*flushWriter)(nil)
	_ http.Hijacker                             = (*h1Writer)(nil)
	_ io.ReaderFrom                             = (*h1Writer)(nil)
	_ http.Pusher                               = (*h2Writer)(nil)
	_ io.StringWriter                           = (*writer)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*writer)(nil)
)

// writerPools holds one pool per writer type. Like fmt's printer pool it is
// package state, but holds nothing observable: a writer is reset before it
// goes back.
var writerPools = [4]sync.Pool{
	{New: func() any { w := &writer{}; w.outer = w; return w }},
	{New: func() any { w := &flushWriter{}; w.outer, w.pool = w, 1; return &w.writer }},
	{New: func() any { w := &h1Writer{}; w.outer, w.pool = w, 2; return &w.writer }},
	{New: func() any { w := &h2Writer{}; w.outer, w.pool = w, 3; return &w.writer }},
}

// newWriter takes a writer for w from the pool of the type that matches
// w's optional interfaces.
func newWriter(w http.ResponseWriter, protoMajor int) *writer {
	i := 0
	if _, ok := w.(http.Flusher); ok {
		i = 1
		if protoMajor == 2 {
			if _, ok := w.(http.Pusher); ok {
				i = 3
			}
		} else if _, ok := w.(http.Hijacker); ok {
			if _, ok := w.(io.ReaderFrom); ok {
				i = 2
			}
		}
	}
	pw := writerPools[i].Get().(*writer)
	pw.ResponseWriter = w
	return pw
}

// release returns the writer to its pool. The handler has returned, so by
// net/http's rules it no longer uses the writer; the server's writer is
// dropped so that a handler breaking that rule fails loudly instead of
// writing to another request's response.
func (w *writer) release() {
	w.ResponseWriter, w.code, w.bytes = nil, 0, 0
	writerPools[w.pool].Put(w)
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

// release returns a pooled writer. It is called only after the handler
// returned normally: after a panic, something up the stack may still write
// through the writer, so it is left to the garbage collector.
func (rec *recorder) release() {
	if rec.w != nil {
		rec.w.release()
		rec.w = nil
	}
}

// snoopState is what the httpsnoop hooks record. It is allocated only for
// upgrade requests, so the recorder of an ordinary request stays on the
// stack.
type snoopState struct {
	code     int
	bytes    int64
	wrote    bool
	hijacked bool
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
				return n, err
			}
		},
		WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(s string) (int, error) {
				n, err := next(s)
				rec.bytes += int64(n)
				rec.wrote = true
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
