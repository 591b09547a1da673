package tracing

import (
	"context"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/metrics"
)

// Keys of the attributes NewLogHandler adds; the same names as the access
// log's.
const (
	requestIDKey = "request_id"
	userIDKey    = "user_id"
	traceIDKey   = "trace_id"
	spanIDKey    = "span_id"
	sourceKey    = "source"
)

// NewLogHandler returns a [slog.Handler] that passes every record to next
// with the request it was logged for: request_id and user_id (from
// [metrics.RequestIDFromContext] and [metrics.UserIDFromContext]) and the
// trace_id and span_id of the span in the context, each when present. So
// a handler only writes logger.ErrorContext(r.Context(), …) and its line
// can be found from the access log, the trace, or the error report.
//
// Records at error level or above also get source ("dir/file.go:line" of
// the logging call, without the machine's path), and the first error among
// their attributes is recorded for the request with [metrics.RecordError],
// so the error hook and the span of a failed request carry the error that
// was logged.
//
// Records logged without a request's context (logger.Error instead of
// ErrorContext) pass through unchanged. After WithGroup the added
// attributes land in the group, as every attribute does.
func NewLogHandler(next slog.Handler) slog.Handler {
	return &logHandler{next: next}
}

type logHandler struct {
	next slog.Handler
}

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	var attrs [5]slog.Attr
	n := 0
	if id := metrics.RequestIDFromContext(ctx); id != "" {
		attrs[n] = slog.String(requestIDKey, id)
		n++
	}
	if id := metrics.UserIDFromContext(ctx); id != "" {
		attrs[n] = slog.String(userIDKey, id)
		n++
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs[n] = slog.String(traceIDKey, sc.TraceID().String())
		attrs[n+1] = slog.String(spanIDKey, sc.SpanID().String())
		n += 2
	}
	if r.Level >= slog.LevelError {
		if r.PC != 0 {
			attrs[n] = slog.String(sourceKey, source(r.PC))
			n++
		}
		r.Attrs(func(a slog.Attr) bool {
			if err, ok := a.Value.Resolve().Any().(error); ok {
				metrics.RecordError(ctx, err)
				return false
			}
			return true
		})
	}
	if n > 0 {
		r.AddAttrs(attrs[:n]...)
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}

// source returns "dir/file.go:line" for pc: enough to find the call in
// the repository, without the build machine's directories.
func source(pc uintptr) string {
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	if f.File == "" {
		return ""
	}
	dir, file := filepath.Split(f.File)
	return filepath.Join(filepath.Base(dir), file) + ":" + strconv.Itoa(f.Line)
}
