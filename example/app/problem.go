package app

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/covetgo/covet/problem"
)

// problemBody is an RFC 9457 body with field errors.
type problemBody struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []fieldError `json:"errors,omitempty"`
}

// writeProblem answers with an RFC 9457 body through the library's one
// problem writer (same headers as every package's errors), with the field
// errors of a rejected body as an extension member.
func writeProblem(w http.ResponseWriter, status int, detail string, fields ...fieldError) {
	if len(fields) == 0 {
		problem.Error(w, status, detail)
		return
	}
	body, err := json.Marshal(problemBody{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields})
	if err != nil {
		problem.Error(w, status, detail)
		return
	}
	problem.Write(w, status, append(body, '\n'))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// recoverer turns a panic into a 500 problem and one log line, so the client
// gets an answer and the connection stays usable. http.ErrAbortHandler is
// re-raised: it is how a handler deliberately aborts a response.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				log.ErrorContext(r.Context(), "handler panic", "panic", v, "method", r.Method, "path", r.URL.Path, "stack", string(debug.Stack()))
				writeProblem(w, http.StatusInternalServerError, "")
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// bodyLimit caps request bodies at n bytes: a declared larger body is refused
// at once with 413, and a body that grows past n while being read fails the
// read, which the handlers answer with 413 too.
func bodyLimit(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				writeProblem(w, http.StatusRequestEntityTooLarge, "the request body is larger than "+strconv.FormatInt(n, 10)+" bytes")
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}
