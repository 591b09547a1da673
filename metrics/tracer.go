package metrics

import (
	"context"
	"net/http"

	"github.com/covetgo/covet/internal/typednil"
)

// Tracer is what [WithTracer] needs of a tracer: a span begun before the
// handler runs and ended after it, named by the route pattern the
// middleware resolves for its own labels. The subpackage metrics/tracing
// implements it with OpenTelemetry; metrics itself links no tracing
// library.
type Tracer interface {
	// Start begins tracing r and returns the context the handler runs
	// with (ctx, which already carries the middleware's own values, with
	// the span added). It must not keep r.
	Start(ctx context.Context, r *http.Request) context.Context
	// End ends the span begun by Start, which ctx carries, and returns its
	// trace ID, or "" when the trace is not sampled. The trace ID becomes
	// the exemplar of the request's metrics.
	End(ctx context.Context, end RequestEnd) (traceID string)
}

// RequestEnd is what the middleware tells a [Tracer] at the end of a
// request.
type RequestEnd struct {
	// Method is the method label: one of the nine standard methods or
	// [OtherMethod].
	Method string
	// Route is the endpoint label: the route pattern, or
	// [UnmatchedEndpoint].
	Route string
	// Status is the status code the client received (500 when the
	// handler panicked before writing).
	Status int
	// Err is the error recorded with [RecordError], or the panic that
	// went through the middleware; nil when there is neither.
	Err error
}

// WithTracer makes [New] trace every request with t: t.Start runs before
// the handler and the handler gets its context, t.End runs after with the
// route pattern and status, and the trace ID t.End returns is attached as
// the trace_id exemplar (unless [WithTraceID] is set, which wins). A panic
// going through the middleware is recovered, handed to t.End as the error
// and re-raised. Read by [New].
func WithTracer(t Tracer) Option {
	return newOption(func(c *config) {
		if typednil.Is(t) {
			c.fail("tracer is nil")
			return
		}
		c.tracer = t
	})
}
