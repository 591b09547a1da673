// Package tracing adds OpenTelemetry tracing to the [metrics] middleware:
// a server span per request named by its route pattern, W3C trace-context
// propagation in and out, trace IDs as exemplars of the request metrics,
// and a [log/slog] handler that puts the request's IDs on every record.
//
// It is a separate package so that a program using metrics alone links no
// OpenTelemetry code. It imports only the OpenTelemetry API; the program
// chooses the SDK, exporter and sampler (see the example service, which
// builds them from the standard OTEL_* environment variables).
//
// # Server spans
//
// [New] returns a [Tracer] for a TracerProvider, and
// [metrics.WithTracer] puts it inside the metrics middleware:
//
//	tr, err := tracing.New(tp)
//	m, err := metrics.New(reg, metrics.WithTracer(tr))
//	r.Use(m.Handler)
//
// The span starts before the handler, continuing the trace of an incoming
// traceparent header, so database and Redis spans started from the
// request's context (otelpgx, go-redis's redisotel) become its children.
// It is named "GET /users/{id}" after the router matched, from the
// middleware's own route resolution: a raw path never becomes a span
// name, and unmatched requests share "GET unmatched". The status code, an
// error recorded with [metrics.RecordError] and a panic are recorded on
// it; 5xx responses mark it as failed.
//
// [Tracer.Transport] carries the trace out: requests made with it start a
// client span and send its traceparent.
//
// # Exemplars
//
// When the span is sampled, its trace ID becomes the trace_id exemplar of
// http_request_duration_seconds and http_requests_total, which
// [metrics.Handler] exposes in the OpenMetrics format: a latency panel can
// link to the trace of a slow request.
//
// # Correlated logs
//
// [NewLogHandler] wraps any slog.Handler and adds request_id, user_id,
// trace_id and span_id to every record logged with a request's context;
// error records also get their source line and report their error to the
// request's error hook ([metrics.WithErrorHook]) and span. A key the record
// already holds is not added again, so the access log's own line, written
// through the same handler, carries each key once.
//
// # Cost
//
// With a no-op TracerProvider (tracing not configured) Start and End
// return at once: no header is read and nothing is allocated. With a
// recording provider a request costs the SDK's span plus three attributes
// at start and two at the end; span names are cached per route.
// BENCHMARKS.md at the module root compares it with otelhttp.
package tracing
