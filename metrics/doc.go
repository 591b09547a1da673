// Package metrics instruments HTTP services: Prometheus request metrics
// labelled by route pattern, a structured access log on [log/slog], request
// IDs, and helpers for the /metrics endpoint, database pool statistics and
// websocket connections.
//
// # Request metrics
//
// [New] builds a [Middleware] on a registry the caller passes in (nothing is
// registered globally) and records the series production dashboards expect:
//
//	http_requests_total{method,endpoint,status}
//	http_request_duration_seconds{method,endpoint}   (classic buckets; native opt-in)
//	http_response_size_bytes{method,endpoint}
//	http_requests_in_flight
//
// The endpoint label is the route pattern, never the raw path: chi's route
// pattern read after the handler ran ("/users/{id}"), or the standard
// ServeMux's [http.Request.Pattern] with its method prefix removed.
// Requests no route matched share the [UnmatchedEndpoint] value and methods
// outside the standard nine collapse to [OtherMethod], so a scanner
// requesting random paths with made-up methods cannot grow the number of
// series.
//
// With chi, add the middleware with r.Use so that it sees the router's route
// context. Around a ServeMux, wrap the mux itself: ServeMux records the
// matched pattern on the request it is given, which must be the one the
// middleware holds (a middleware in between that replaces the request hides
// it).
//
// # Response writer
//
// The handler receives a pooled writer that keeps Flusher, Hijacker,
// io.ReaderFrom and Pusher exactly where the server's writer has them and
// implements Unwrap, so [http.ResponseController] reaches deadlines and full
// duplex; it is reused from request to request, so instrumenting a request
// allocates nothing for it. A handler must not use the writer after it
// returned (net/http's own rule): the writer serves another request then.
// HTTP/1 upgrade requests get an httpsnoop wrapper instead that sees
// Hijack: a websocket handshake is recorded as status 101, not 200.
//
// # Exemplars
//
// [WithTraceID] supplies a function returning the trace ID of a request;
// when it returns one, the request counter and duration histogram carry it
// as a trace_id exemplar, and the access log prints it. The counter and
// each duration bucket take a new exemplar at most every 10 ms, since
// recording one costs client_golang several allocations: a busy route pays
// for a few hundred a second rather than one per request, and each bucket
// still holds a recent trace at any scrape interval. [Handler] serves
// OpenMetrics, the format that exposes exemplars.
//
// # Tracing and error reporting
//
// [WithTracer] runs a [Tracer] around every request: it starts a span
// before the handler and ends it with the route pattern and status the
// metrics use, and the trace ID it returns becomes the exemplar. The
// subpackage metrics/tracing implements it with OpenTelemetry; this
// package links no tracing library.
//
// [WithErrorHook] reports every request that ends with a 5xx status or a
// panic as a [Failure]: method, route, status, request, user and trace IDs
// and the error, which code inside records with [RecordError]
// (metrics/tracing's log handler does it for every error it logs). No
// header, query or body is in a Failure, so secrets the client sent cannot
// reach an error tracker through it.
//
// # Access log
//
// [NewAccessLog] writes one line per request with method, route, path,
// status, bytes, duration_ms, client_ip, request_id, user_id and trace_id,
// at a level chosen by status. [New] with [WithLogger] writes the same line
// from the same measurement, so metrics and log agree and the request is
// wrapped once. The client IP is the value of chi's ClientIPFrom…
// middleware when present, else the peer address, never a raw
// X-Forwarded-For. No header is logged, so Authorization and cookies never
// are, and secret query parameters are redacted.
//
// Request IDs come from [RequestID] (or the access log itself): a
// well-formed incoming X-Request-ID is kept, anything else replaced by a
// generated ID, and the ID is echoed in the response and available through
// [RequestIDFromContext]. Authentication code reports the user with
// [WithUserID]; the outer access log sees it.
//
// # Helpers
//
// [Handler] serves a registry, optionally with the Go and process
// collectors. [RegisterDB] exports a [database/sql] pool's statistics
// through client_golang's DB stats collector. [NewWebSocketGauge] returns
// the websocket_connections_active gauge.
//
// # Cost
//
// Label values are resolved once per (method, route, status) and cached in
// a copy-on-write map, so the request path builds no label maps and hashes
// no labels: two monotonic clock readings, chi's wrapper (two small
// allocations), and the atomic updates of the metrics themselves. BENCHMARKS.md at the module
// root compares it with promhttp's InstrumentHandler chain and
// slok/go-http-metrics.
package metrics
