package metrics

import (
	"context"
	"sync/atomic"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	userIDKey
	infoKey
)

// requestInfo is placed in the request context by the access log so that
// handlers and middleware running inside it can report facts the log line
// needs after they return: the user ID and the error a failure is
// reported with. It is safe for concurrent use.
type requestInfo struct {
	requestID string
	userID    atomic.Pointer[string]
	err       atomic.Pointer[error]
}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey).(*requestInfo)
	return info
}

// WithUserID returns a copy of ctx that carries the authenticated user's
// ID. When ctx comes from a request served inside [AccessLog] (or a
// [Middleware] built [WithLogger]), the access log line of that request
// also records the ID, even though the log middleware only sees its own,
// outer request. Authentication code calls it once the user is known and
// passes the new request on:
//
//	next.ServeHTTP(w, r.WithContext(metrics.WithUserID(r.Context(), claims.Subject)))
//
// A handler with nothing further to call may ignore the returned context:
// the access log has its copy already.
//
// The ID is logged as given: pass an opaque identifier, never an e-mail
// address or other personal data your logging policy forbids.
func WithUserID(ctx context.Context, id string) context.Context {
	if info := infoFrom(ctx); info != nil {
		info.userID.Store(&id)
	}
	return context.WithValue(ctx, userIDKey, id)
}

// UserIDFromContext returns the user ID set by [WithUserID], or "" when
// there is none. From the context of an outer middleware it returns the ID
// that inner code set for the same request.
func UserIDFromContext(ctx context.Context) string {
	if id, ok := ctx.Value(userIDKey).(string); ok {
		return id
	}
	if info := infoFrom(ctx); info != nil {
		if id := info.userID.Load(); id != nil {
			return *id
		}
	}
	return ""
}
