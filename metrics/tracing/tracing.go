package tracing

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/covetgo/covet/metrics"
)

// scopeName is the instrumentation scope of the spans a Tracer starts.
const scopeName = "github.com/covetgo/covet/metrics/tracing"

// ErrInvalidConfig is wrapped by every constructor error caused by a bad
// argument or option.
var ErrInvalidConfig = errors.New("tracing: invalid configuration")

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// Tracer starts an OpenTelemetry server span for every request served by a
// [metrics.Middleware] built [metrics.WithTracer]. The span continues the
// trace of an incoming W3C traceparent header and is named
// "METHOD /route/{pattern}" once the router has matched, from the same
// route resolution the metrics use, so a raw path never becomes a span
// name. It records http.request.method, url.path, url.scheme, http.route
// and http.response.status_code; 5xx responses, panics and errors recorded
// with [metrics.RecordError] set the span's status to Error.
//
// A Tracer is safe for concurrent use.
type Tracer struct {
	tracer    trace.Tracer
	prop      propagation.TextMapPropagator
	off       bool
	startOpts []trace.SpanStartOption
	names     nameCache
}

var _ metrics.Tracer = (*Tracer)(nil)

// Option configures [New].
type Option func(*config)

type config struct {
	prop propagation.TextMapPropagator
	err  error
}

// WithPropagator sets how trace context is read from requests and written
// to outgoing ones. The default is W3C Trace Context
// ([propagation.TraceContext]); pass a composite to add baggage or B3.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) {
		if typednil.Is(p) {
			c.err = errorf("propagator is nil")
			return
		}
		c.prop = p
	}
}

// New returns a Tracer starting spans from tp. Nothing global is read or
// set: pass the provider your program built (the OpenTelemetry SDK's,
// configured from the OTEL_* environment). With a no-op provider
// ([noop.NewTracerProvider]) the Tracer does nothing at all, not even
// reading the traceparent header, so a program that did not configure
// tracing pays only a nil check per request.
func New(tp trace.TracerProvider, opts ...Option) (*Tracer, error) {
	if typednil.Is(tp) {
		return nil, errorf("tracer provider is nil")
	}
	cfg := config{prop: propagation.TraceContext{}}
	for _, o := range opts {
		if o == nil {
			continue
		}
		o(&cfg)
		if cfg.err != nil {
			return nil, cfg.err
		}
	}
	_, off := tp.(noop.TracerProvider)
	t := &Tracer{
		tracer:    tp.Tracer(scopeName),
		prop:      cfg.prop,
		off:       off,
		startOpts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)},
	}
	t.names.max = maxNames
	return t, nil
}

// Start implements [metrics.Tracer]: it continues the trace of r's headers
// and starts the server span, named by the method until End knows the
// route.
func (t *Tracer) Start(ctx context.Context, r *http.Request) context.Context {
	if t.off {
		return ctx
	}
	ctx = t.prop.Extract(ctx, headerCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, r.Method, t.startOpts...)
	if span.IsRecording() {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		span.SetAttributes(
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.URLPathKey.String(r.URL.Path),
			semconv.URLSchemeKey.String(scheme),
		)
	}
	return ctx
}

// End implements [metrics.Tracer]: it names the span by the route, records
// the status and error, ends the span and returns its trace ID when the
// span is sampled.
func (t *Tracer) End(ctx context.Context, e metrics.RequestEnd) string {
	if t.off {
		return ""
	}
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		span.SetName(t.names.name(e.Method, e.Route))
		span.SetAttributes(
			semconv.HTTPRouteKey.String(e.Route),
			semconv.HTTPResponseStatusCodeKey.Int(e.Status),
		)
		switch {
		case e.Err != nil:
			span.RecordError(e.Err)
			span.SetStatus(codes.Error, e.Err.Error())
		case e.Status >= http.StatusInternalServerError:
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
	return TraceID(ctx)
}

// TraceID returns the hexadecimal ID of the sampled trace ctx carries, or
// "" when it carries none or its trace is not sampled. It fits
// [metrics.WithTraceID].
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return ""
	}
	id := sc.TraceID()
	var buf [32]byte
	hex.Encode(buf[:], id[:])
	return string(buf[:])
}

// headerCarrier reads the W3C headers straight from the map: http.Header's
// Get would canonicalise the lowercase key the propagator asks for, which
// allocates for headers net/http does not know.
type headerCarrier http.Header

func (h headerCarrier) Get(key string) string {
	var v []string
	switch key {
	case "traceparent":
		v = h["Traceparent"]
	case "tracestate":
		v = h["Tracestate"]
	default:
		return http.Header(h).Get(key)
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (h headerCarrier) Set(key, value string) { http.Header(h).Set(key, value) }

func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}
