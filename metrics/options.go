package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Option configures [New]. Each constructor has its own option type, so an
// option that does not apply to it does not compile: [WithGoCollector] is a
// [HandlerOption], and metrics.New(reg, metrics.WithGoCollector()) is a
// compile error rather than a silent no-op.
type Option interface{ applyNew(*config) }

// AccessLogOption configures [NewAccessLog]. Each is also an [Option]: given
// to [New], it shapes the access log line New writes with [WithLogger] (New
// fails when [WithLevel] or [WithRedactedQuery] come without WithLogger).
type AccessLogOption func(*config)

func (o AccessLogOption) applyNew(c *config) { o(c) }

// HandlerOption configures [Handler].
type HandlerOption func(*config)

// newOption is an Option for New alone.
type newOption func(*config)

func (o newOption) applyNew(c *config) { o(c) }

type config struct {
	durationBuckets []float64
	sizeBuckets     []float64
	native          bool
	constLabels     prometheus.Labels
	traceID         func(context.Context) string
	tracer          Tracer
	errorHook       func(context.Context, Failure)
	router          Router
	mux             *http.ServeMux

	logger   *slog.Logger
	level    func(status int) slog.Level
	redacted map[string]struct{}
	logOnly  []string // log options given, which New needs WithLogger for

	goCollector      bool
	processCollector bool

	now   func() time.Time
	since func(time.Time) time.Duration
	err   error
}

// defaultRedactedQuery lists query parameters whose values never reach the
// access log. Matching is case-insensitive; [WithRedactedQuery] adds more.
var defaultRedactedQuery = []string{
	"access_token", "api_key", "apikey", "auth", "client_secret", "code",
	"id_token", "key", "password", "passwd", "refresh_token", "secret",
	"session", "sig", "signature", "token",
}

// defaultConfig returns the defaults every constructor starts from.
func defaultConfig() *config {
	c := &config{
		durationBuckets: prometheus.DefBuckets,
		sizeBuckets:     prometheus.ExponentialBuckets(100, 10, 8),
		level:           DefaultLevel,
		redacted:        make(map[string]struct{}, len(defaultRedactedQuery)),
	}
	for _, name := range defaultRedactedQuery {
		c.redacted[name] = struct{}{}
	}
	return c
}

// finish fills the clock and returns the first option error.
func (c *config) finish() (*config, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.now == nil {
		c.now, c.since = time.Now, time.Since
	}
	return c, nil
}

// newConfig applies the options of New.
func newConfig(opts []Option) (*config, error) {
	c := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt.applyNew(c)
		}
	}
	if c.logger == nil && len(c.logOnly) > 0 && c.err == nil {
		c.fail("%s only shapes the access log: add WithLogger", strings.Join(c.logOnly, " and "))
	}
	return c.finish()
}

// accessLogConfig applies the options of NewAccessLog.
func accessLogConfig(opts []AccessLogOption) (*config, error) {
	c := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	return c.finish()
}

// handlerConfig applies the options of Handler.
func handlerConfig(opts []HandlerOption) (*config, error) {
	c := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	return c.finish()
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = errorf(format, args...)
	}
}

func checkBuckets(c *config, what string, b []float64) {
	if len(b) == 0 {
		c.fail("%s buckets: none given", what)
		return
	}
	for i := 1; i < len(b); i++ {
		if !(b[i] > b[i-1]) {
			c.fail("%s buckets: not strictly increasing at index %d", what, i)
			return
		}
	}
}

// WithBuckets sets the classic histogram buckets of
// http_request_duration_seconds, in seconds, strictly increasing. The default
// is [prometheus.DefBuckets] (5 ms to 10 s). Read by [New].
func WithBuckets(buckets ...float64) Option {
	return newOption(func(c *config) {
		checkBuckets(c, "duration", buckets)
		c.durationBuckets = append([]float64(nil), buckets...)
	})
}

// WithSizeBuckets sets the classic histogram buckets of
// http_response_size_bytes, strictly increasing. The default is 100 B to
// 1 GB in powers of ten. Read by [New].
func WithSizeBuckets(buckets ...float64) Option {
	return newOption(func(c *config) {
		checkBuckets(c, "size", buckets)
		c.sizeBuckets = append([]float64(nil), buckets...)
	})
}

// WithNativeHistograms makes both histograms also expose Prometheus native
// (sparse) histograms, bucket factor 1.1, at most 160 buckets, reset at most
// hourly. The classic buckets stay, so existing dashboards keep working.
// Native histograms are only scraped with the protobuf exposition format.
// Read by [New].
func WithNativeHistograms() Option {
	return newOption(func(c *config) { c.native = true })
}

// WithConstLabels adds constant labels (service, version, …) to every
// series the middleware creates. Read by [New].
func WithConstLabels(labels prometheus.Labels) Option {
	return newOption(func(c *config) {
		for name := range labels {
			switch name {
			case "method", "endpoint", "status":
				c.fail("constant label %q clashes with a variable label", name)
				return
			}
		}
		c.constLabels = make(prometheus.Labels, len(labels))
		for k, v := range labels {
			c.constLabels[k] = v
		}
	})
}

// WithTraceID sets the function that returns the trace ID of a request
// (for example from an OpenTelemetry span in the context), or "" when there
// is none. [New] attaches it as a trace_id exemplar to the request counter
// and duration histogram; [NewAccessLog] logs it as trace_id. The function
// runs once per request, after the handler, and must be safe for concurrent
// use.
func WithTraceID(fn func(ctx context.Context) string) AccessLogOption {
	return func(c *config) {
		if fn == nil {
			c.fail("trace ID function is nil")
			return
		}
		c.traceID = fn
	}
}

// WithLogger makes the middleware built by [New] also write the access log
// line of [NewAccessLog] to logger, from the same measurement: one wrapper,
// one clock reading, one route lookup for both. Read by [New].
func WithLogger(logger *slog.Logger) Option {
	return newOption(func(c *config) {
		if logger == nil {
			c.fail("logger is nil")
			return
		}
		c.logger = logger
	})
}

// WithLevel sets the function that picks the log level of a request from
// its status code. The default is [DefaultLevel]. Read by [NewAccessLog]
// and by [New] with [WithLogger].
func WithLevel(fn func(status int) slog.Level) AccessLogOption {
	return func(c *config) {
		c.logOnly = append(c.logOnly, "WithLevel")
		if fn == nil {
			c.fail("level function is nil")
			return
		}
		c.level = fn
	}
}

// WithRedactedQuery adds query parameter names (case-insensitive) whose
// values the access log replaces with REDACTED. A built-in list (token,
// access_token, password, secret, api_key, code, signature, …) always
// applies. Read by [NewAccessLog] and by [New] with [WithLogger].
func WithRedactedQuery(names ...string) AccessLogOption {
	return func(c *config) {
		c.logOnly = append(c.logOnly, "WithRedactedQuery")
		for _, n := range names {
			if n == "" {
				c.fail("empty query parameter name")
				return
			}
			c.redacted[strings.ToLower(n)] = struct{}{}
		}
	}
}

// WithGoCollector makes [Handler] register the Go runtime collector
// (go_goroutines, go_memstats_*, …) on its registry.
func WithGoCollector() HandlerOption {
	return func(c *config) { c.goCollector = true }
}

// WithProcessCollector makes [Handler] register the process collector
// (process_cpu_seconds_total, process_resident_memory_bytes, …) on its
// registry.
func WithProcessCollector() HandlerOption {
	return func(c *config) { c.processCollector = true }
}

// withNow injects the clock; tests use it to get exact durations.
func withNow(now func() time.Time) AccessLogOption {
	return func(c *config) {
		c.now = now
		c.since = func(t time.Time) time.Duration { return now().Sub(t) }
	}
}

// DefaultLevel is the default of [WithLevel]: 5xx responses log at error,
// 4xx at warn and everything else at info.
func DefaultLevel(status int) slog.Level {
	switch {
	case status >= http.StatusInternalServerError:
		return slog.LevelError
	case status >= http.StatusBadRequest:
		return slog.LevelWarn
	default:
		return slog.LevelInfo
	}
}
