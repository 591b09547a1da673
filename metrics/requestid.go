package metrics

import (
	"context"
	"crypto/rand"
	"net/http"
)

// RequestIDHeader is the header a request ID is read from and echoed in.
const RequestIDHeader = "X-Request-ID"

// MaxRequestIDLen is the longest incoming request ID accepted.
const MaxRequestIDLen = 128

// ValidRequestID reports whether id is acceptable as an incoming request ID:
// 1 to [MaxRequestIDLen] bytes of ASCII letters, digits and "-_.:+/=@".
// Anything else (control characters, spaces, quotes, non-ASCII) could forge
// or break log lines downstream, so it is replaced by a generated ID.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '/', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// NewRequestID returns a fresh request ID: 26 characters of base32 from
// crypto/rand (128 bits), so IDs are unique without coordination and do not
// reveal request volume.
func NewRequestID() string {
	return rand.Text()
}

// WithRequestID returns a copy of ctx carrying the request ID id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestIDFromContext returns the request ID placed in ctx by [RequestID],
// [AccessLog] or [WithRequestID], or "" when there is none.
func RequestIDFromContext(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey).(string); ok {
		return id
	}
	if info := infoFrom(ctx); info != nil {
		return info.requestID
	}
	return ""
}

// requestID returns the request's ID: one already in the context, else a
// well-formed X-Request-ID header, else a new one. fresh reports whether it
// was not in the context yet, so the caller must store it and echo it.
func requestID(r *http.Request) (id string, fresh bool) {
	if id := RequestIDFromContext(r.Context()); id != "" {
		return id, false
	}
	if id := r.Header.Get(RequestIDHeader); ValidRequestID(id) {
		return id, true
	}
	return NewRequestID(), true
}

// RequestID is middleware that gives every request an ID: the incoming
// X-Request-ID header when [ValidRequestID] accepts it, else a
// [NewRequestID]. The ID is echoed in the X-Request-ID response header and
// available to inner handlers through [RequestIDFromContext]. [AccessLog]
// does the same by itself; use RequestID alone, or in front of it when
// handlers outside the access log need the ID.
//
// An incoming ID is client input: it is safe to log, but never use it to
// authorise anything.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, fresh := requestID(r)
		if fresh {
			r = r.WithContext(WithRequestID(r.Context(), id))
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}
