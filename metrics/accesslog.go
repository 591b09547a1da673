package metrics

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/covetgo/covet/clientip"
)

// AccessLog is middleware that writes one structured [log/slog] line per
// request, at the end of it:
//
//	method route path [query] status [aborted] bytes duration_ms client_ip request_id [user_id] [trace_id]
//
// route is the route pattern, as in the metrics (see [WithServeMux] and
// [WithRouter]). aborted=true marks a response that did not reach the
// client whole (see [OutcomeAborted]). client_ip is [clientip.Addr]: the
// address a clientip.Resolver in front resolved, else the peer address; a
// raw X-Forwarded-For header is never trusted. request_id comes
// from [RequestID], else a well-formed X-Request-ID header, else a fresh
// one, and is echoed in the response. user_id is whatever inner code set
// with [WithUserID]. Headers are never logged, so neither
// Authorization nor cookies are; secret query parameters are redacted.
//
// The level follows the status: 5xx error, 4xx warn, else info (see
// [WithLevel]). An AccessLog is safe for concurrent use.
type AccessLog struct {
	core core
}

// NewAccessLog returns an AccessLog writing to logger. Options:
// [WithLevel], [WithRedactedQuery], [WithTraceID], [WithRouter],
// [WithServeMux]. To record metrics and the log line in one pass, use [New]
// with [WithLogger] instead.
func NewAccessLog(logger *slog.Logger, opts ...AccessLogOption) (*AccessLog, error) {
	if logger == nil {
		return nil, errorf("logger is nil")
	}
	cfg, err := accessLogConfig(opts)
	if err != nil {
		return nil, err
	}
	cfg.logger = logger
	l := &AccessLog{core: newCore(cfg)}
	l.core.log = newAccessLogger(cfg)
	return l, nil
}

// Handler wraps next; place it outside authentication middleware so that
// rejected requests are logged too.
func (l *AccessLog) Handler(next http.Handler) http.Handler {
	return l.core.handler(next)
}

type accessLogger struct {
	logger   *slog.Logger
	level    func(int) slog.Level
	redacted map[string]struct{}
	routes   cowMap[routeKey, string]
}

type routeKey struct {
	route string
	src   uint8
}

type entry struct {
	endpoint string
	status   int
	bytes    int64
	elapsed  time.Duration
	traceID  string
	aborted  bool
}

func newAccessLogger(cfg *config) *accessLogger {
	l := &accessLogger{logger: cfg.logger, level: cfg.level, redacted: cfg.redacted}
	l.routes.max = maxSeriesCache
	return l
}

// endpoint returns the route label without allocating once a route is
// known; only the log-only middleware needs it, the metrics cache it too.
func (l *accessLogger) endpoint(c *core, raw string, src uint8) string {
	if e, ok := l.routes.load(routeKey{raw, src}); ok {
		return e
	}
	e := c.endpointLabel(raw, src)
	l.routes.store(routeKey{strings.Clone(raw), src}, e)
	return e
}

func (l *accessLogger) log(r *http.Request, info *requestInfo, e entry) {
	ctx := r.Context()
	level := l.level(e.status)
	if !l.logger.Enabled(ctx, level) {
		return
	}
	var attrs [12]slog.Attr
	n := 0
	add := func(a slog.Attr) { attrs[n] = a; n++ }
	add(slog.String("method", r.Method))
	add(slog.String("route", e.endpoint))
	add(slog.String("path", r.URL.Path))
	if r.URL.RawQuery != "" {
		add(slog.String("query", redactQuery(r.URL.RawQuery, l.redacted)))
	}
	add(slog.Int("status", e.status))
	if e.aborted {
		add(slog.Bool("aborted", true))
	}
	add(slog.Int64("bytes", e.bytes))
	add(slog.Float64("duration_ms", float64(e.elapsed)/float64(time.Millisecond)))
	add(slog.String("client_ip", clientIP(r)))
	if info != nil {
		add(slog.String("request_id", RequestIDFromContext(ctx)))
		if id := info.userID.Load(); id != nil {
			add(slog.String("user_id", *id))
		}
	}
	if e.traceID != "" {
		add(slog.String("trace_id", e.traceID))
	}
	l.logger.LogAttrs(ctx, level, "http request", attrs[:n]...)
}

// clientIP returns the client address (see [clientip.Addr]), or the raw
// peer address when it holds none, such as a Unix socket's.
func clientIP(r *http.Request) string {
	if ip := clientip.Addr(r); ip.IsValid() {
		return ip.String()
	}
	return r.RemoteAddr
}

// redactQuery replaces the values of secret parameters in a raw query with
// REDACTED, keeping everything else as sent. It returns raw itself, without
// allocating, when there is nothing to redact.
func redactQuery(raw string, secret map[string]struct{}) string {
	var b strings.Builder
	rest := raw
	done := 0 // raw[:done] is already in b
	for pos := 0; rest != ""; {
		seg := rest
		next := ""
		if i := strings.IndexByte(rest, '&'); i >= 0 {
			seg, next = rest[:i], rest[i+1:]
		}
		key, _, hasValue := strings.Cut(seg, "=")
		if hasValue && isSecret(key, secret) {
			valStart := pos + len(key) + 1
			b.Grow(len(raw))
			b.WriteString(raw[done:valStart])
			b.WriteString("REDACTED")
			done = pos + len(seg)
		}
		pos += len(seg) + 1
		rest = next
	}
	if done == 0 {
		return raw
	}
	b.WriteString(raw[done:])
	return b.String()
}

func isSecret(key string, secret map[string]struct{}) bool {
	if strings.ContainsAny(key, "%+") {
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
	}
	_, ok := secret[strings.ToLower(key)]
	return ok
}
