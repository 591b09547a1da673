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
//	http_requests_total{method,endpoint,status,outcome}
//	http_request_duration_seconds{method,endpoint}   (classic buckets; native opt-in)
//	http_response_size_bytes{method,endpoint}
//	http_requests_in_flight
//
// The endpoint label is the route pattern, never the raw path, read after
// the handler ran: [http.Request.Pattern] with its method prefix removed
// (set by the standard ServeMux, and by chi since v5.2), or the route a
// [Router] found ([WithRouter]; metrics/chiroute reads chi's).
// Requests no route matched share the [UnmatchedEndpoint] value and methods
// outside the standard nine collapse to [OtherMethod], so a scanner
// requesting random paths with made-up methods cannot grow the number of
// series.
//
// # Routes behind other middleware
//
// ServeMux records the matched pattern on the request it is given. When a
// middleware between this one and the mux replaces the request
// (r.WithContext: request IDs, securehdr's CSP nonce, clientip, ratelimit),
// the request this middleware holds has no pattern; [WithServeMux] names
// the mux so that the middleware asks it for the pattern instead:
//
//	m, err := metrics.New(reg, metrics.WithServeMux(mux))
//	handler := m.Handler(ips.Handler(headers.Handler(mux)))
//
// With chi, metrics.WithRouter(chiroute.Router{}) reads chi's route
// context, which survives replaced requests; chi is linked only by programs
// importing metrics/chiroute.
//
// A middleware that cannot see any pattern labels every request
// [UnmatchedEndpoint], which a dashboard shows as plausible traffic on one
// route. When the first 100 requests a middleware sees are all unmatched it
// logs a warning (to the [WithLogger] logger, else slog.Default()) and
// increments http_route_patterns_missing_total, once.
//
// # Aborted responses
//
// A response that does not reach the client whole (a write or flush to the
// client failed, the client hung up so that the server canceled the
// request's context, or the handler panicked with [http.ErrAbortHandler])
// is counted with outcome="aborted" and logged with aborted=true; every
// other request has outcome="completed". The status label keeps the status
// that was sent, so a CSV export cut short is a 200 with outcome aborted,
// not a success.
//
// # Response writer
//
// The handler receives a writer that keeps Flusher, Hijacker, io.ReaderFrom
// and Pusher exactly where the server's writer has them and implements
// Unwrap, so [http.ResponseController] reaches deadlines and full duplex.
// Each request gets its own (one small allocation); once the handler
// returned it refuses every use: a goroutine that kept it gets an error
// from Write and cannot touch the finished response, nor another
// client's.
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
// wrapped once. The client IP is [clientip.Addr]: the address a
// clientip.Resolver in front resolved from trusted proxies, else the peer
// address, never a raw X-Forwarded-For. No header is logged, so Authorization and cookies never
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
// no labels: two monotonic clock readings, the response writer (one small
// allocation), and the atomic updates of the metrics themselves. BENCHMARKS.md at the module
// root compares it with promhttp's InstrumentHandler chain and
// slok/go-http-metrics.
package metrics
