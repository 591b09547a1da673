package metrics

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"github.com/felixge/httpsnoop"
	"github.com/go-chi/chi/v5/middleware"
)

// recorder observes what a handler did with its ResponseWriter.
//
// Ordinary requests go through chi's WrapResponseWriter: one small
// allocation, and it keeps Flusher, Hijacker, ReaderFrom and Pusher and
// implements Unwrap for http.ResponseController. HTTP/1 upgrade requests
// (websockets) go through httpsnoop instead, whose hooks see a Hijack, so a
// hijacked connection is recorded as 101 Switching Protocols rather than as
// an implicit 200.
type recorder struct {
	chi   middleware.WrapResponseWriter
	snoop *snoopState // upgrade path only
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

// isUpgrade reports whether r asks to switch protocols over HTTP/1.
func isUpgrade(r *http.Request) bool {
	return r.ProtoMajor == 1 && len(r.Header["Upgrade"]) > 0
}

// wrap returns the writer to hand to the next handler.
func (rec *recorder) wrap(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	if !isUpgrade(r) {
		rec.chi = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		return rec.chi
	}
	rec.snoop = &snoopState{}
	return rec.snoop.wrap(w)
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
	if rec.chi != nil {
		code = rec.chi.Status()
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
	if rec.chi != nil {
		return int64(rec.chi.BytesWritten())
	}
	if rec.snoop != nil {
		return rec.snoop.bytes
	}
	return 0
}
