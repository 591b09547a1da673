package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Transport returns an [http.RoundTripper] that carries the trace of each
// request's context to the server it calls: it starts a client span named
// by the method, child of the span in the request's context, and sends it
// as a W3C traceparent header (or with the propagator of
// [WithPropagator]). The caller's request is not modified; its headers are
// copied when the header is added. base nil means
// [http.DefaultTransport]. With a no-op provider it returns base itself.
func (t *Tracer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if t.off {
		return base
	}
	return &transport{t: t, base: base}
}

type transport struct {
	t    *Tracer
	base http.RoundTripper
}

func (tr *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := tr.t.tracer.Start(r.Context(), r.Method, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.ServerAddressKey.String(r.URL.Hostname()),
			semconv.URLFullKey.String(redactedURL(r)),
		)
	}
	out := r.Clone(ctx)
	tr.t.prop.Inject(ctx, headerCarrier(out.Header))
	resp, err := tr.base.RoundTrip(out)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, "")
	}
	return resp, nil
}

// redactedURL is the request URL without user info and query, which may
// carry credentials.
func redactedURL(r *http.Request) string {
	u := *r.URL
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	return u.String()
}
