package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Names of the metrics [New] registers.
const (
	RequestsTotalName   = "http_requests_total"
	DurationName        = "http_request_duration_seconds"
	InFlightName        = "http_requests_in_flight"
	ResponseSizeName    = "http_response_size_bytes"
	exemplarTraceIDName = "trace_id"
)

// maxSeriesCache bounds the per-middleware cache of label lookups; past it
// requests are still counted, through the slower label lookup.
const maxSeriesCache = 4096

// Middleware records Prometheus metrics for every request it serves:
//
//	http_requests_total{method,endpoint,status}      counter
//	http_request_duration_seconds{method,endpoint}   histogram
//	http_response_size_bytes{method,endpoint}        histogram
//	http_requests_in_flight                           gauge
//
// endpoint is the route pattern ("/users/{id}"), never the raw path, so the
// number of series is bounded by the routes the service defines. A
// Middleware is safe for concurrent use.
type Middleware struct {
	core core
}

// New returns a Middleware whose metrics are registered on reg; nothing is
// registered globally. Building several Middlewares on one registry is
// fine: they share the collectors of the first (its buckets win).
// Options: [WithBuckets], [WithSizeBuckets], [WithNativeHistograms],
// [WithConstLabels], [WithTraceID], and [WithLogger] with [WithLevel] and
// [WithRedactedQuery] to write the access log in the same pass.
func New(reg prometheus.Registerer, opts ...Option) (*Middleware, error) {
	if reg == nil {
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
	if cfg.logger != nil {
		m.core.log = newAccessLogger(cfg)
	}
	return m, nil
}

// Handler wraps next. Use it as chi middleware (r.Use(m.Handler)) or around
// a ServeMux (m.Handler(mux)); it reads the route pattern after next has
// routed the request. Wrapping a whole chi router from outside also works,
// at the cost of one route context per request.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return m.core.handler(next)
}

type instruments struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
	inFlight *inFlightGauge

	series cowMap[seriesKey, *series]
}

type seriesKey struct {
	route  string
	src    uint8
	method uint8
	code   uint16
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
	inst := &instruments{}
	inst.series.max = maxSeriesCache
	var err error
	if inst.requests, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        RequestsTotalName,
		Help:        "Number of HTTP requests served, by method, route pattern and status code.",
		ConstLabels: cfg.constLabels,
	}, []string{"method", "endpoint", "status"})); err != nil {
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
	return inst, nil
}

// lookup returns the series of a request, creating it on first use.
func (in *instruments) lookup(method uint8, code int, raw string, src uint8) *series {
	k := seriesKey{route: raw, src: src, method: method, code: uint16(code)}
	if s, ok := in.series.load(k); ok {
		return s
	}
	endpoint := endpointLabel(raw, src)
	m := methodNames[method]
	s := &series{endpoint: endpoint}
	c, err := in.requests.GetMetricWithLabelValues(m, endpoint, strconv.Itoa(code))
	if err != nil {
		// Only a route pattern that is not valid UTF-8 gets here.
		s.endpoint = UnmatchedEndpoint
		c = in.requests.WithLabelValues(m, UnmatchedEndpoint, strconv.Itoa(code))
	}
	s.requests = c
	s.duration = in.duration.WithLabelValues(m, s.endpoint)
	s.size = in.size.WithLabelValues(m, s.endpoint)
	s.exAdd, _ = s.requests.(prometheus.ExemplarAdder)
	s.exObs, _ = s.duration.(prometheus.ExemplarObserver)
	in.series.store(seriesKey{route: strings.Clone(raw), src: src, method: method, code: uint16(code)}, s)
	return s
}

func (s *series) observe(d time.Duration, bytes int64, traceID string) {
	secs := d.Seconds()
	if traceID != "" && s.exAdd != nil && s.exObs != nil && validExemplar(traceID) {
		ex := prometheus.Labels{exemplarTraceIDName: traceID}
		s.exAdd.AddWithExemplar(1, ex)
		s.exObs.ObserveWithExemplar(secs, ex)
	} else {
		s.requests.Inc()
		s.duration.Observe(secs)
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
	inst    *instruments  // nil: no metrics
	log     *accessLogger // nil: no access log
	traceID func(context.Context) string

	// Requests are timed as offsets from base. time.Since reads only the
	// monotonic clock, while time.Now also reads the wall clock: two
	// Since calls cost noticeably less than Now plus Since on machines
	// where clock reads are slow (virtual machines often are).
	base  time.Time
	since func(time.Time) time.Duration
}

func newCore(cfg *config) core {
	return core{traceID: cfg.traceID, base: cfg.now(), since: cfg.since}
}

func (c *core) handler(next http.Handler) http.Handler {
	// A chi router wrapped from outside creates its route context only
	// after this middleware ran, out of reach; give it one to fill.
	_, injectChi := next.(chi.Routes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.serve(next, injectChi, w, r)
	})
}

func (c *core) serve(next http.Handler, injectChi bool, w http.ResponseWriter, r *http.Request) {
	start := c.since(c.base)
	var info *requestInfo
	var rctx *chi.Context
	if c.log != nil || injectChi {
		ctx := r.Context()
		if c.log != nil {
			id, fresh := requestID(r)
			if fresh {
				w.Header().Set(RequestIDHeader, id)
			}
			info = &requestInfo{requestID: id}
			ctx = context.WithValue(ctx, infoKey, info)
		}
		if injectChi && chi.RouteContext(ctx) == nil {
			rctx = chi.NewRouteContext()
			ctx = context.WithValue(ctx, chi.RouteCtxKey, rctx)
		}
		r = r.WithContext(ctx)
	}
	if c.inst != nil {
		c.inst.inFlight.n.Add(1)
	}
	var rec recorder
	ww := rec.wrap(w, r)
	panicked := true
	defer func() {
		c.finish(r, rctx, &rec, start, panicked, info)
	}()
	next.ServeHTTP(ww, r)
	panicked = false
}

func (c *core) finish(r *http.Request, rctx *chi.Context, rec *recorder, start time.Duration, panicked bool, info *requestInfo) {
	elapsed := c.since(c.base) - start
	status := rec.status(panicked)
	bytes := rec.written()
	if rctx == nil {
		rctx = chi.RouteContext(r.Context())
	}
	var buf [256]byte
	raw, src := rawRoute(r, rctx, buf[:0])
	var traceID string
	if c.traceID != nil {
		traceID = c.traceID(r.Context())
	}
	endpoint := ""
	if c.inst != nil {
		c.inst.inFlight.n.Add(-1)
		s := c.inst.lookup(methodIndex(r.Method), status, raw, src)
		s.observe(elapsed, bytes, traceID)
		endpoint = s.endpoint
	}
	if c.log != nil {
		if endpoint == "" {
			endpoint = c.log.endpoint(raw, src)
		}
		c.log.log(r, info, entry{
			endpoint: endpoint,
			status:   status,
			bytes:    bytes,
			elapsed:  elapsed,
			traceID:  traceID,
		})
	}
}
