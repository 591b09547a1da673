package tracing

import (
	"context"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/internal/typednil"
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
// A key the record already holds is not added again, so each key appears
// once on a line: the access log's own line (metrics.WithLogger), which
// carries request_id, user_id and trace_id itself, gets only span_id.
// Attributes bound earlier with Logger.With are not seen here: do not bind
// these keys yourself. Records logged without a request's context
// (logger.Error instead of ErrorContext) pass through unchanged. After WithGroup the added
// attributes land in the group, as every attribute does.
//
// A nil next, or an interface holding a nil pointer, is an error wrapping
// [ErrInvalidConfig].
func NewLogHandler(next slog.Handler) (slog.Handler, error) {
	if typednil.Is(next) {
		return nil, errorf("next handler is nil")
	}
	return &logHandler{next: next}, nil
}

type logHandler struct {
	next slog.Handler
}

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	// Keys the record already holds keep their value: each key has one
	// owner per line, so a line written by the access log (which carries
	// request_id, user_id and trace_id itself) gets none of them twice.
	var have uint8
	const (
		haveRequestID = 1 << iota
		haveUserID
		haveTraceID
		haveSpanID
		haveSource
	)
	isError := r.Level >= slog.LevelError
	recorded := false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case requestIDKey:
			have |= haveRequestID
		case userIDKey:
			have |= haveUserID
		case traceIDKey:
			have |= haveTraceID
		case spanIDKey:
			have |= haveSpanID
		case sourceKey:
			have |= haveSource
		}
		if isError && !recorded {
			if err, ok := a.Value.Resolve().Any().(error); ok {
				metrics.RecordError(ctx, err)
				recorded = true
			}
		}
		return true
	})
	var attrs [5]slog.Attr
	n := 0
	add := func(a slog.Attr) { attrs[n] = a; n++ }
	if have&haveRequestID == 0 {
		if id := metrics.RequestIDFromContext(ctx); id != "" {
			add(slog.String(requestIDKey, id))
		}
	}
	if have&haveUserID == 0 {
		if id := metrics.UserIDFromContext(ctx); id != "" {
			add(slog.String(userIDKey, id))
		}
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		if have&haveTraceID == 0 {
			add(slog.String(traceIDKey, sc.TraceID().String()))
		}
		if have&haveSpanID == 0 {
			add(slog.String(spanIDKey, sc.SpanID().String()))
		}
	}
	if isError && r.PC != 0 && have&haveSource == 0 {
		add(slog.String(sourceKey, source(r.PC)))
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
