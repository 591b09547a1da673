package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/covetgo/covet/internal/typednil"
	"github.com/prometheus/client_golang/prometheus"
)

// Names of the metrics [New] registers.
const (
	RequestsTotalName = "http_requests_total"
	DurationName      = "http_request_duration_seconds"
	InFlightName      = "http_requests_in_flight"
	ResponseSizeName  = "http_response_size_bytes"
	// RoutesMissingName counts the times the middleware saw its first
	// requests all labelled [UnmatchedEndpoint] (see [WithServeMux]).
	RoutesMissingName   = "http_route_patterns_missing_total"
	exemplarTraceIDName = "trace_id"
)

// maxSeriesCache bounds the per-middleware cache of label lookups; past it
// requests are still counted, through the slower label lookup.
const maxSeriesCache = 4096

// Middleware records Prometheus metrics for every request it serves:
//
//	http_requests_total{method,endpoint,status,outcome}  counter
//	http_request_duration_seconds{method,endpoint}   histogram
//	http_response_size_bytes{method,endpoint}        histogram
//	http_requests_in_flight                           gauge
//
// endpoint is the route pattern ("/users/{id}"), never the raw path, so the
// number of series is bounded by the routes the service defines. outcome is
// [OutcomeCompleted], or [OutcomeAborted] when the response did not reach
// the client whole (see [OutcomeAborted]). A Middleware is safe for
// concurrent use.
type Middleware struct {
	core core
}

// New returns a Middleware whose metrics are registered on reg; nothing is
// registered globally. Building several Middlewares on one registry is
// fine: they share the collectors of the first (its buckets win).
// Options: [WithBuckets], [WithSizeBuckets], [WithNativeHistograms],
// [WithConstLabels], [WithTraceID], [WithTracer], [WithErrorHook],
// [WithRouter] and [WithServeMux] for route patterns, and [WithLogger] with
// [WithLevel] and [WithRedactedQuery] to write the access log in the same
// pass (those two without WithLogger are an error). A nil reg, or an
// interface holding a nil pointer, is an error.
func New(reg prometheus.Registerer, opts ...Option) (*Middleware, error) {
	if typednil.Is(reg) {
		return nil, errorf("registerer is nil")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	inst, err := newInstruments(reg, cfg)
	if err != nil {
		return nil, err
	}
	m := &Middleware{core: newCore(cfg)}
	m.core.inst = inst
	m.core.watch.missing = inst.routesMissing
	if cfg.logger != nil {
		m.core.log = newAccessLogger(cfg)
	}
	return m, nil
}

// Handler wraps next and reads the route pattern after next has routed the
// request. Around a ServeMux (m.Handler(mux)) it reads
// [http.Request.Pattern]; with middleware in between that replaces the
// request, add [WithServeMux]. With chi, add [WithRouter] and either
// r.Use(m.Handler) or wrap the router from outside.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return m.core.handler(next)
}

type instruments struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
	inFlight *inFlightGauge
	// routesMissing counts the alarms of unmatchedWatch.
	routesMissing prometheus.Counter

	durationBounds []float64 // the duration histogram's bucket bounds
	series         cowMap[seriesKey, *series]
}

type seriesKey struct {
	route   string
	src     uint8
	method  uint8
	aborted bool
	code    uint16
}

// series holds the observers of one (method, route, status), resolved once
// so that the request path never builds label maps or hashes labels.
type series struct {
	endpoint string
	requests prometheus.Counter
	duration prometheus.Observer
	size     prometheus.Observer
	exAdd    prometheus.ExemplarAdder
	exObs    prometheus.ExemplarObserver

	// When the counter and each duration bucket last took an exemplar
	// (offsets from core.base; 0: never). bounds are the duration
	// buckets' upper bounds; exAt has one more entry, for +Inf.
	exCount atomic.Int64
	exAt    []atomic.Int64
	bounds  []float64
}

func newInstruments(reg prometheus.Registerer, cfg *config) (*instruments, error) {
	dopts := prometheus.HistogramOpts{
		Name:        DurationName,
		Help:        "Duration of HTTP requests in seconds, by method and route pattern.",
		Buckets:     cfg.durationBuckets,
		ConstLabels: cfg.constLabels,
	}
	sopts := prometheus.HistogramOpts{
		Name:        ResponseSizeName,
		Help:        "Size of HTTP response bodies in bytes, by method and route pattern.",
		Buckets:     cfg.sizeBuckets,
		ConstLabels: cfg.constLabels,
	}
	if cfg.native {
		for _, o := range []*prometheus.HistogramOpts{&dopts, &sopts} {
			o.NativeHistogramBucketFactor = 1.1
			o.NativeHistogramMaxBucketNumber = 160
			o.NativeHistogramMinResetDuration = time.Hour
		}
	}
	inst := &instruments{durationBounds: cfg.durationBuckets}
	inst.series.max = maxSeriesCache
	var err error
	if inst.requests, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        RequestsTotalName,
		Help:        "Number of HTTP requests served, by method, route pattern, status code and outcome (completed, or aborted when the response did not reach the client whole).",
		ConstLabels: cfg.constLabels,
	}, []string{"method", "endpoint", "status", "outcome"})); err != nil {
		return nil, err
	}
	if inst.duration, err = register(reg, prometheus.NewHistogramVec(dopts, []string{"method", "endpoint"})); err != nil {
		return nil, err
	}
	if inst.size, err = register(reg, prometheus.NewHistogramVec(sopts, []string{"method", "endpoint"})); err != nil {
		return nil, err
	}
	if inst.inFlight, err = register(reg, newInFlightGauge(cfg.constLabels)); err != nil {
		return nil, err
	}
	if inst.routesMissing, err = register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name:        RoutesMissingName,
		Help:        "Times a metrics middleware saw its first requests all labelled unmatched: it probably cannot see the router's route patterns.",
		ConstLabels: cfg.constLabels,
	})); err != nil {
		return nil, err
	}
	return inst, nil
}

// Values of the outcome label of http_requests_total.
const (
	// OutcomeCompleted: the response was handed to the connection whole.
	OutcomeCompleted = "completed"
	// OutcomeAborted: the response did not reach the client whole. A
	// write to the client failed, the request's context was canceled
	// because the client went away (a download or stream cut short), or
	// the handler panicked with [http.ErrAbortHandler]. The status label
	// keeps the status that was sent (or would have been); the access log
	// adds aborted=true.
	OutcomeAborted = "aborted"
)

// lookup returns the series of a request, creating it on first use.
func (in *instruments) lookup(c *core, method uint8, code int, aborted bool, raw string, src uint8) *series {
	k := seriesKey{route: raw, src: src, method: method, aborted: aborted, code: uint16(code)}
	if s, ok := in.series.load(k); ok {
		return s
	}
	endpoint := c.endpointLabel(raw, src)
	m := methodNames[method]
	outcome := OutcomeCompleted
	if aborted {
		outcome = OutcomeAborted
	}
	s := &series{endpoint: endpoint}
	cnt, err := in.requests.GetMetricWithLabelValues(m, endpoint, strconv.Itoa(code), outcome)
	if err != nil {
		// Only a route pattern that is not valid UTF-8 gets here.
		s.endpoint = UnmatchedEndpoint
		cnt = in.requests.WithLabelValues(m, UnmatchedEndpoint, strconv.Itoa(code), outcome)
	}
	s.requests = cnt
	s.duration = in.duration.WithLabelValues(m, s.endpoint)
	s.size = in.size.WithLabelValues(m, s.endpoint)
	s.exAdd, _ = s.requests.(prometheus.ExemplarAdder)
	s.exObs, _ = s.duration.(prometheus.ExemplarObserver)
	s.bounds = in.durationBounds
	s.exAt = make([]atomic.Int64, len(s.bounds)+1)
	k.route = strings.Clone(raw)
	in.series.store(k, s)
	return s
}

// exemplarEvery is how often the request counter and each duration bucket
// of a series take a new exemplar. client_golang allocates about six
// objects per exemplar; at this rate a busy route pays for a few hundred a
// second rather than one per request, and every bucket's exemplar is still
// far fresher than any scrape interval.
const exemplarEvery = 10 * time.Millisecond

// takeExemplar reports whether the instrument whose last exemplar was at
// *last may take one now (both offsets from core.base), and records it.
func takeExemplar(last *atomic.Int64, now time.Duration) bool {
	l := last.Load()
	if l != 0 && int64(now)-l < int64(exemplarEvery) {
		return false
	}
	return last.CompareAndSwap(l, max(int64(now), 1))
}

// observe records one request that ended at now (an offset from
// core.base) after d.
func (s *series) observe(now, d time.Duration, bytes int64, traceID string) {
	secs := d.Seconds()
	if traceID == "" || s.exAdd == nil || s.exObs == nil {
		s.requests.Inc()
		s.duration.Observe(secs)
	} else {
		// The bucket secs falls in is the first with an upper bound >= secs.
		onCount := takeExemplar(&s.exCount, now)
		onBucket := takeExemplar(&s.exAt[sort.SearchFloat64s(s.bounds, secs)], now)
		var ex prometheus.Labels
		if (onCount || onBucket) && validExemplar(traceID) {
			ex = prometheus.Labels{exemplarTraceIDName: traceID}
		}
		if onCount && ex != nil {
			s.exAdd.AddWithExemplar(1, ex)
		} else {
			s.requests.Inc()
		}
		if onBucket && ex != nil {
			s.exObs.ObserveWithExemplar(secs, ex)
		} else {
			s.duration.Observe(secs)
		}
	}
	s.size.Observe(float64(bytes))
}

// validExemplar reports whether id fits in an exemplar: client_golang
// panics on exemplar labels over 128 runes or with invalid UTF-8.
func validExemplar(id string) bool {
	return utf8.ValidString(id) &&
		utf8.RuneCountInString(id)+len(exemplarTraceIDName) <= prometheus.ExemplarMaxRunes
}

// core is the request path shared by Middleware and AccessLog.
type core struct {
	inst      *instruments  // nil: no metrics
	log       *accessLogger // nil: no access log
	traceID   func(context.Context) string
	tracer    Tracer
	errorHook func(context.Context, Failure)
	router    Router         // nil: ServeMux patterns only
	mux       *http.ServeMux // nil: r.Pattern only
	watch     unmatchedWatch

	// Requests are timed as offsets from base. time.Since reads only the
	// monotonic clock, while time.Now also reads the wall clock: two
	// Since calls cost noticeably less than Now plus Since on machines
	// where clock reads are slow (virtual machines often are).
	base  time.Time
	since func(time.Time) time.Duration
}

func newCore(cfg *config) core {
	logger := cfg.logger
	if logger == nil {
		logger = slog.Default()
	}
	return core{
		traceID:   cfg.traceID,
		tracer:    cfg.tracer,
		errorHook: cfg.errorHook,
		router:    cfg.router,
		mux:       cfg.mux,
		watch:     unmatchedWatch{logger: logger},
		base:      cfg.now(),
		since:     cfg.since,
	}
}

func (c *core) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.serve(next, w, r)
	})
}

// watchesFailures reports whether the core needs the error and panic of a
// request.
func (c *core) watchesFailures() bool {
	return c.tracer != nil || c.errorHook != nil
}

func (c *core) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	start := c.since(c.base)
	var info *requestInfo
	if c.log != nil || c.router != nil || c.watchesFailures() {
		ctx := r.Context()
		orig := ctx
		if c.log != nil || c.watchesFailures() {
			ctx, info = c.requestInfo(ctx, w, r)
		}
		if c.router != nil {
			ctx = c.router.Prepare(ctx)
		}
		if c.tracer != nil {
			ctx = c.tracer.Start(ctx, r)
		}
		if ctx != orig {
			r = r.WithContext(ctx)
		}
	}
	if c.inst != nil {
		c.inst.inFlight.n.Add(1)
	}
	var rec recorder
	ww := rec.wrap(w, r)
	panicked := true
	defer func() {
		if panicked && c.watchesFailures() {
			// Recovered only to be reported, then raised again. A nil
			// value is runtime.Goexit (t.FailNow), not a panic.
			if v := recover(); v != nil {
				var stack []byte
				if c.errorHook != nil {
					stack = debug.Stack()
				}
				c.finish(w, r, &rec, start, true, info, v, stack)
				panic(v)
			}
		}
		c.finish(w, r, &rec, start, panicked, info, nil, nil)
	}()
	next.ServeHTTP(ww, r)
	panicked = false
}

// requestInfo returns the requestInfo of the request, reusing the one an
// outer access log or middleware placed in ctx, so that a user ID or an
// error reported further in reaches every layer.
func (c *core) requestInfo(ctx context.Context, w http.ResponseWriter, r *http.Request) (context.Context, *requestInfo) {
	info := infoFrom(ctx)
	if c.log != nil {
		id, fresh := requestID(r)
		if fresh {
			w.Header().Set(RequestIDHeader, id)
		}
		if info == nil || info.requestID != id {
			info = &requestInfo{requestID: id}
			ctx = context.WithValue(ctx, infoKey, info)
		}
		return ctx, info
	}
	if info == nil {
		info = &requestInfo{requestID: RequestIDFromContext(ctx)}
		ctx = context.WithValue(ctx, infoKey, info)
	}
	return ctx, info
}

// aborted reports whether the response did not reach the client whole:
// a write failed, the client went away (the server cancels the request's
// context when it sees the connection close), or the handler panicked
// with http.ErrAbortHandler. A hijacked connection is the handler's own.
func aborted(r *http.Request, rec *recorder, panicValue any) bool {
	if e, ok := panicValue.(error); ok && errors.Is(e, http.ErrAbortHandler) {
		return true
	}
	if rec.hijacked() {
		return false
	}
	return rec.failed() || errors.Is(r.Context().Err(), context.Canceled)
}

func (c *core) finish(w http.ResponseWriter, r *http.Request, rec *recorder, start time.Duration, panicked bool, info *requestInfo, panicValue any, stack []byte) {
	now := c.since(c.base)
	elapsed := now - start
	// The handler is done (returned or panicked): from now on the writer
	// it was given refuses to write, so one it kept cannot reach the
	// client.
	rec.release()
	status := rec.status(panicked)
	bytes := rec.written()
	cut := aborted(r, rec, panicValue)
	raw, src := c.rawRoute(r, status, w)
	method := methodIndex(r.Method)
	var s *series
	endpoint := ""
	if c.inst != nil {
		c.inst.inFlight.n.Add(-1)
		s = c.inst.lookup(c, method, status, cut, raw, src)
		endpoint = s.endpoint
	} else if c.log != nil {
		endpoint = c.log.endpoint(c, raw, src)
	}
	c.watch.see(endpoint == UnmatchedEndpoint)
	var err error
	if c.watchesFailures() {
		err = requestError(info, panicValue)
	}
	var traceID string
	if c.tracer != nil {
		traceID = c.tracer.End(r.Context(), RequestEnd{Method: methodNames[method], Route: endpoint, Status: status, Err: err})
	}
	if c.traceID != nil {
		traceID = c.traceID(r.Context())
	}
	if s != nil {
		s.observe(now, elapsed, bytes, traceID)
	}
	if c.log != nil {
		c.log.log(r, info, entry{
			endpoint: endpoint,
			status:   status,
			bytes:    bytes,
			elapsed:  elapsed,
			traceID:  traceID,
			aborted:  cut,
		})
	}
	deliberate := panicValue != nil && err == nil
	if c.errorHook != nil && !deliberate && (status >= http.StatusInternalServerError || panicValue != nil) {
		ctx := r.Context()
		c.errorHook(ctx, Failure{
			Method:    methodNames[method],
			Route:     endpoint,
			Status:    status,
			RequestID: RequestIDFromContext(ctx),
			UserID:    UserIDFromContext(ctx),
			TraceID:   traceID,
			Err:       failureError(err, status),
			Stack:     stack,
		})
	}
}

// unmatchedWindow is how many first requests, all labelled unmatched, make
// unmatchedWatch raise its alarm.
const unmatchedWindow = 100

// unmatchedWatch notices a middleware that cannot see route patterns: one
// placed outside a ServeMux with a request-replacing middleware in
// between, or outside chi without [WithRouter]. Such a middleware labels
// every request unmatched, which dashboards show as plausible traffic on
// one route. When the first unmatchedWindow requests are all unmatched it
// logs a warning and counts it, once.
type unmatchedWatch struct {
	done    atomic.Bool
	seen    atomic.Int64
	logger  *slog.Logger
	missing prometheus.Counter // nil: no metrics
}

func (u *unmatchedWatch) see(unmatched bool) {
	if u.done.Load() {
		return
	}
	if !unmatched {
		u.done.Store(true)
		return
	}
	if u.seen.Add(1) != unmatchedWindow || !u.done.CompareAndSwap(false, true) {
		return
	}
	if u.missing != nil {
		u.missing.Inc()
	}
	u.logger.Warn("metrics: every request so far is labelled unmatched; the middleware probably cannot see the router's route patterns",
		slog.Int("requests", unmatchedWindow),
		slog.String("fix", "wrap the ServeMux directly or add metrics.WithServeMux(mux); with chi add metrics.WithRouter(chiroute.Router{})"))
}

// requestError returns the error a request failed with: the panic that
// went through the middleware, else the error recorded for it. The
// deliberate abort (http.ErrAbortHandler) is no error.
func requestError(info *requestInfo, panicValue any) error {
	if panicValue != nil {
		if e, ok := panicValue.(error); ok && errors.Is(e, http.ErrAbortHandler) {
			return nil
		}
		return &PanicError{Value: panicValue}
	}
	if info != nil {
		if p := info.err.Load(); p != nil {
			return *p
		}
	}
	return nil
}
