package cachex

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/felixge/httpsnoop"
)

// Response is a stored HTTP response, the value type of the Cache behind an
// HTTPCache.
type Response struct {
	// Status is the response's status code.
	Status int
	// Header holds the replayed response headers: those that describe the
	// representation (see HTTPCache), never per-request ones.
	Header http.Header
	// Body is the full response body.
	Body []byte
	// Stored is when the response was produced, in Unix milliseconds.
	Stored int64
	// Vary, when set, marks an entry that only lists the request headers
	// selecting among variants stored under their own keys.
	Vary []string
}

// HTTPOption configures an HTTPCache.
type HTTPOption func(*httpConfig)

type httpConfig struct {
	statuses   []int
	keyHeaders []string
	perUser    func(*http.Request) (string, bool)
	maxBody    int
	replayed   map[string]bool
	tags       func(*http.Request) []string
	missWait   time.Duration // 0: misses are not coalesced
	errs       []error
}

// defaultReplayed are the response headers an HTTPCache stores and
// replays: they describe the representation, so they are the same for
// every request served from it.
var defaultReplayed = []string{
	"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language",
	"Content-Location", "Content-Type", "ETag", "Expires", "Last-Modified", "Link", "Vary",
}

// perRequest are headers that describe one request or one response, never a
// representation; WithReplayedHeaders refuses them.
var perRequest = map[string]bool{
	"Age": true, "Connection": true, "Content-Length": true, "Date": true, "Keep-Alive": true,
	"Proxy-Connection": true, "Retry-After": true, "Server-Timing": true, "Set-Cookie": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "X-Cache": true,
	"Traceparent": true, "Tracestate": true, "Baggage": true, "X-Request-Id": true,
	"X-Correlation-Id": true, "X-Trace-Id": true, "B3": true, "Www-Authenticate": true,
}

// isPerRequest reports whether the canonical header name k is per-request,
// including the RateLimit fields of every draft and vendor.
func isPerRequest(k string) bool {
	return perRequest[k] || strings.HasPrefix(k, "Ratelimit") || strings.HasPrefix(k, "X-Ratelimit") ||
		strings.HasPrefix(k, "X-B3-")
}

// WithStatuses sets the status codes whose responses are stored (default
// 200 only).
func WithStatuses(codes ...int) HTTPOption {
	return func(c *httpConfig) {
		for _, s := range codes {
			if s < 200 || s > 599 {
				c.errs = append(c.errs, fmt.Errorf("%w: WithStatuses: bad status %d", ErrInvalidConfig, s))
			}
		}
		c.statuses = codes
	}
}

// WithKeyHeaders adds request headers to the cache key, for headers that
// change the response but that the handler does not list in Vary.
func WithKeyHeaders(names ...string) HTTPOption {
	return func(c *httpConfig) {
		for _, n := range names {
			c.keyHeaders = append(c.keyHeaders, http.CanonicalHeaderKey(n))
		}
	}
}

// WithPerUserKey lets requests with Authorization or cookies use the cache,
// each user with keys of their own: user returns the authenticated user's
// ID, or false to bypass the cache. Without it such requests always bypass,
// so one user's response can never be served to another.
func WithPerUserKey(user func(*http.Request) (id string, ok bool)) HTTPOption {
	return func(c *httpConfig) {
		if user == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithPerUserKey: nil function", ErrInvalidConfig))
		}
		c.perUser = user
	}
}

// WithReplayedHeaders adds response headers to those stored and replayed
// (by default Cache-Control, Content-Disposition, Content-Encoding,
// Content-Language, Content-Location, Content-Type, ETag, Expires,
// Last-Modified, Link and Vary). Use it for headers the handler sets that
// describe the representation (say, X-Total-Count or a per-page
// Content-Security-Policy). Per-request headers are refused: Set-Cookie,
// Date, Age, Content-Length, Retry-After, Server-Timing, WWW-Authenticate,
// request and trace IDs (X-Request-Id, traceparent, b3...), RateLimit fields
// and hop-by-hop headers.
func WithReplayedHeaders(names ...string) HTTPOption {
	return func(c *httpConfig) {
		for _, n := range names {
			k := http.CanonicalHeaderKey(n)
			if k == "" || isPerRequest(k) {
				c.errs = append(c.errs, fmt.Errorf("%w: WithReplayedHeaders: %q is per-request, not replayable", ErrInvalidConfig, n))
				continue
			}
			c.replayed[k] = true
		}
	}
}

// WithMaxBody sets the largest body stored (default 1 MiB); larger
// responses are passed through and not stored.
func WithMaxBody(n int) HTTPOption {
	return func(c *httpConfig) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithMaxBody(%d): must be positive", ErrInvalidConfig, n))
		}
		c.maxBody = n
	}
}

// WithTags tags the response stored for a request with tags(r) (nil or
// empty: untagged), so that HTTPCache.InvalidateTag with any of them turns
// it into a miss on every replica, whatever its key (user, Vary variant,
// query). tags runs on misses, before the handler, and on stale reads (for
// the background refresh), never on fresh hits; it sees the request as the
// cache does (path values set by a router inside the cache are not there
// yet) and must be safe for concurrent use. A stored response carries at
// most 255 tags; a request given more is served and not stored.
//
// The current versions of the tags are read before the handler runs, so an
// invalidation that lands while it runs turns the response it stores into
// a miss at once. When they cannot be read (the shared tier is down), the
// response is served and not stored.
func WithTags(tags func(r *http.Request) []string) HTTPOption {
	return func(c *httpConfig) {
		if tags == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithTags: nil function", ErrInvalidConfig))
		}
		c.tags = tags
	}
}

// DefaultMissWait is how long, by default, a request that misses waits for
// the response another request is already producing for the same key; see
// WithMissWait.
const DefaultMissWait = time.Second

// WithMissWait sets how long a request that misses waits for a response
// that another request of this HTTPCache is already producing for the same
// key (the same stored variant) before running the handler itself: d 0
// turns coalescing off. Default DefaultMissWait.
//
// Concurrent misses of one key run the handler once: the first request
// runs it and writes to its client as usual, the others wait, then are
// served what it stored (X-Cache: HIT). When the response was not stored
// (not storable, or the handler failed), when the wait ends, or when the
// response varies and theirs is another variant, they run the handler
// themselves. The wait is bounded because the first request's handler
// writes to its own client, who may read slowly; the others then pay at
// most d. Coalescing is per process: replicas each produce their own first
// response.
func WithMissWait(d time.Duration) HTTPOption {
	return func(c *httpConfig) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithMissWait(%v): must not be negative", ErrInvalidConfig, d))
		}
		c.missWait = d
	}
}

// HTTPCache is middleware that caches whole responses.
//
// GET requests are served from the cache and stored after a miss; HEAD
// requests are served from stored GET responses. Only responses with a
// configured status (200 by default) and without Set-Cookie, Cache-Control
// private, no-store or no-cache, or Vary: * are stored, for s-maxage, else
// max-age, else the default TTL. The key is the method, host, path, sorted
// query, configured headers and the headers the response lists in Vary.
// Requests carrying Authorization or cookies bypass the cache unless
// WithPerUserKey is set. Responses carry X-Cache (HIT, MISS or STALE) and, when
// served from the cache, Age; stored responses get an ETag when they have
// none, and If-None-Match is answered with 304. With the store's
// WithStaleWhileRevalidate, stale responses are served (STALE) while one
// background request refreshes them. With WithTags, stored responses are
// tagged, and InvalidateTag turns them into misses. Concurrent misses of
// one key run the handler once (see WithMissWait).
//
// Only headers that describe the representation are stored and replayed:
// Cache-Control, Content-Disposition, Content-Encoding, Content-Language,
// Content-Location, Content-Type, ETag, Expires, Last-Modified, Link and
// Vary, plus those added with WithReplayedHeaders. Everything else the
// response carried when it was stored (X-Request-Id, RateLimit fields,
// Retry-After, Date, Server-Timing, traceparent, security headers...) is
// dropped, whether the handler or an outer middleware set it. A hit keeps
// every header already set on it by outer middleware (its own request ID,
// its own rate-limit fields); a replayed header replaces one of the same
// name, except Vary, whose fields are merged.
//
// HTTPCache is safe for concurrent use.
type HTTPCache struct {
	store *Cache[Response]
	ttl   time.Duration
	cfg   httpConfig

	flightMu sync.Mutex
	flights  map[string]*missFlight // misses being produced, by key
}

// NewHTTPCache returns middleware storing responses in store, for ttl when
// a response has no max-age. Background refreshes belong to store: Close it
// on shutdown.
func NewHTTPCache(store *Cache[Response], ttl time.Duration, opts ...HTTPOption) (*HTTPCache, error) {
	cfg := httpConfig{statuses: []int{http.StatusOK}, maxBody: 1 << 20, replayed: map[string]bool{}, missWait: DefaultMissWait}
	for _, k := range defaultReplayed {
		cfg.replayed[http.CanonicalHeaderKey(k)] = true // "Etag"
	}
	for _, o := range opts {
		o(&cfg)
	}
	if store == nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: NewHTTPCache: nil store", ErrInvalidConfig))
	}
	if ttl <= 0 {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: NewHTTPCache: ttl %v must be positive", ErrInvalidConfig, ttl))
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	return &HTTPCache{store: store, ttl: ttl, cfg: cfg, flights: map[string]*missFlight{}}, nil
}

// InvalidateTag turns every response stored with any of tags (WithTags)
// into a miss, in every tier and on every replica; see Cache.InvalidateTag.
// Errors wrap ErrShared; on such an error the invalidation may not have
// reached the shared tier and should be retried.
func (h *HTTPCache) InvalidateTag(ctx context.Context, tags ...string) error {
	return h.store.InvalidateTag(ctx, tags...)
}

// refs reads the current versions of r's tags (WithTags): before the
// handler runs, so that a response stored after an invalidation that lands
// meanwhile is stale at once.
func (h *HTTPCache) refs(r *http.Request) ([]tagRef, error) {
	if h.cfg.tags == nil {
		return nil, nil
	}
	refs, err := h.store.tags.refs(r.Context(), h.cfg.tags(r))
	if errors.Is(err, ErrInvalid) {
		// A mistake of the tags function; the tier logs its own trouble.
		h.store.log.WarnContext(r.Context(), "cachex: response not stored", "path", r.URL.Path, "err", err)
	}
	return refs, err
}

// Handler wraps next.
func (h *HTTPCache) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		user := ""
		if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
			if h.cfg.perUser == nil {
				next.ServeHTTP(w, r)
				return
			}
			id, ok := h.cfg.perUser(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			user = id
		}
		base := h.baseKey(r, user)
		// A request that finds another producing its key waits for it and
		// looks again: at most twice (the second for its own variant,
		// when the first response varied), then runs the handler.
		for waits := 0; ; waits++ {
			key, e := base, h.store.lookup(r.Context(), base)
			if e != nil && !e.notFound && len(e.val.Vary) > 0 {
				key = variantKey(base, r, e.val.Vary)
				e = h.store.lookup(r.Context(), key)
			}
			if e != nil && !e.notFound && len(e.val.Vary) == 0 {
				now := h.store.nowMs()
				if now < e.soft {
					h.serve(w, r, &e.val, "HIT", now)
					return
				}
				if h.store.cfg.swr > 0 && now < e.soft+h.store.cfg.swr.Milliseconds() {
					h.revalidate(r, key, next)
					h.serve(w, r, &e.val, "STALE", now)
					return
				}
			}
			if r.Method == http.MethodHead {
				w.Header().Set("X-Cache", "MISS")
				next.ServeHTTP(w, r)
				return
			}
			if h.cfg.missWait <= 0 || waits == 2 {
				h.miss(w, r, base, next, nil)
				return
			}
			f, first := h.join(key)
			if first {
				h.miss(w, r, base, next, f)
				return
			}
			if !h.wait(r.Context(), f) {
				h.miss(w, r, base, next, nil)
				return
			}
		}
	})
}

// missFlight is a miss being produced by one request, which others of the
// same key wait for.
type missFlight struct {
	key    string
	done   chan struct{}
	stored bool // set before done is closed
}

// join returns the flight of key and whether the caller starts it (and
// must end it).
func (h *HTTPCache) join(key string) (*missFlight, bool) {
	h.flightMu.Lock()
	defer h.flightMu.Unlock()
	if f, ok := h.flights[key]; ok {
		return f, false
	}
	f := &missFlight{key: key, done: make(chan struct{})}
	h.flights[key] = f
	return f, true
}

// end ends f, telling its waiters whether a response was stored.
func (h *HTTPCache) end(f *missFlight, stored bool) {
	h.flightMu.Lock()
	delete(h.flights, f.key)
	h.flightMu.Unlock()
	f.stored = stored
	close(f.done)
}

// wait waits for f as long as ctx and the miss wait allow and reports
// whether it stored a response.
func (h *HTTPCache) wait(ctx context.Context, f *missFlight) bool {
	t := time.NewTimer(h.cfg.missWait)
	defer t.Stop()
	select {
	case <-f.done:
		return f.stored
	case <-ctx.Done():
		return false
	case <-t.C:
		return false
	}
}

// baseKey is the key before Vary: method, user, host, path, sorted query
// and the configured headers.
func (h *HTTPCache) baseKey(r *http.Request, user string) string {
	var b strings.Builder
	b.Grow(64 + len(user) + len(r.Host) + len(r.URL.Path) + len(r.URL.RawQuery))
	b.WriteString("http\x00GET\x00")
	b.WriteString(user)
	b.WriteByte(0)
	b.WriteString(strings.ToLower(r.Host))
	b.WriteString(r.URL.EscapedPath())
	if raw := r.URL.RawQuery; raw != "" && !strings.Contains(raw, "&") && !strings.Contains(raw, ";") {
		b.WriteByte('?')
		b.WriteString(raw) // one parameter: nothing to sort
	} else if raw != "" {
		q, err := url.ParseQuery(raw)
		if err == nil {
			b.WriteByte('?')
			b.WriteString(q.Encode()) // sorted by key
		} else {
			b.WriteString("?\x00")
			b.WriteString(r.URL.RawQuery)
		}
	}
	for _, name := range h.cfg.keyHeaders {
		b.WriteByte(0)
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(strings.Join(r.Header.Values(name), ","))
	}
	return b.String()
}

// variantKey is base plus a digest of the request's values of the headers
// the response varies on. Those are often credentials (Authorization,
// Cookie), which must not appear in key names that anyone who can list the
// Redis keys reads.
func variantKey(base string, r *http.Request, vary []string) string {
	d := sha256.New()
	for _, name := range vary {
		for _, v := range r.Header.Values(name) {
			_, _ = io.WriteString(d, v)
			_, _ = d.Write([]byte{','})
		}
		_, _ = d.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return base + "\x00vary\x00" + hex.EncodeToString(d.Sum(sum[:0]))
}

// serve writes a stored response.
func (h *HTTPCache) serve(w http.ResponseWriter, r *http.Request, resp *Response, state string, now int64) {
	hdr := w.Header()
	for k, v := range resp.Header {
		if k == "Vary" && len(hdr[k]) > 0 {
			mergeVary(hdr, v)
			continue
		}
		// The slices are shared by every request served from this entry:
		// capping them makes an append further down copy instead of
		// writing into the shared array.
		hdr[k] = v[:len(v):len(v)]
	}
	hdr.Set("X-Cache", state)
	hdr.Set("Age", strconv.FormatInt(max(now-resp.Stored, 0)/1000, 10))
	if etag := resp.Header.Get("ETag"); etag != "" && etagMatch(r.Header.Get("If-None-Match"), etag) {
		for _, k := range []string{"Content-Length", "Content-Type", "Content-Encoding"} {
			hdr.Del(k)
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.Body)
	}
}

// mergeVary adds to hdr's Vary the fields of stored it lacks (an outer
// middleware may have set its own, such as Origin or Accept-Encoding).
func mergeVary(hdr http.Header, stored []string) {
	have := map[string]bool{}
	for _, v := range hdr.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			have[strings.ToLower(strings.TrimSpace(f))] = true
		}
	}
	for _, v := range stored {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" && !have[strings.ToLower(f)] {
				have[strings.ToLower(f)] = true
				hdr.Add("Vary", f)
			}
		}
	}
}

// etagMatch is the weak comparison of If-None-Match (RFC 9110 13.1.2).
func etagMatch(inm, etag string) bool {
	if inm == "" {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// capture records what a handler writes while passing it through.
type capture struct {
	status   int
	header   http.Header
	body     bytes.Buffer
	max      int
	overflow bool
	hijacked bool
	failed   bool // a write failed: the body is incomplete
}

func (c *capture) fail(err error) {
	if err != nil {
		c.failed = true
	}
}

func (c *capture) start(w http.ResponseWriter, code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
		c.header = w.Header().Clone()
	}
}

func (c *capture) Write(p []byte) (int, error) {
	if !c.overflow {
		if c.body.Len()+len(p) > c.max {
			c.overflow = true
			c.body = bytes.Buffer{}
		} else {
			c.body.Write(p)
		}
	}
	return len(p), nil
}

// miss runs next for a request that missed, passing the response through
// and storing it when it may be. When f is not nil the request started the
// flight f, which miss ends, so that requests waiting for it look again.
func (h *HTTPCache) miss(w http.ResponseWriter, r *http.Request, base string, next http.Handler, f *missFlight) {
	stored := false
	if f != nil {
		// Deferred, so that waiters are released when next panics too.
		defer func() { h.end(f, stored) }()
	}
	w.Header().Set("X-Cache", "MISS")
	// Stored without its tags, the response would escape a later
	// invalidation: it is served but not stored when they cannot be read.
	refs, tagErr := h.refs(r)
	c := &capture{max: h.cfg.maxBody}
	ww := httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(f httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) { c.start(w, code); f(code) }
		},
		Write: func(f httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(p []byte) (int, error) {
				c.start(w, http.StatusOK)
				n, err := f(p)
				_, _ = c.Write(p[:n])
				c.fail(err)
				return n, err
			}
		},
		WriteString: func(f httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(s string) (int, error) {
				c.start(w, http.StatusOK)
				n, err := f(s)
				_, _ = c.Write([]byte(s[:n]))
				c.fail(err)
				return n, err
			}
		},
		ReadFrom: func(f httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) {
				c.start(w, http.StatusOK)
				n, err := f(io.TeeReader(src, c))
				c.fail(err)
				return n, err
			}
		},
		Hijack: func(f httpsnoop.HijackFunc) httpsnoop.HijackFunc {
			return func() (net.Conn, *bufio.ReadWriter, error) {
				c.hijacked = true
				return f()
			}
		},
	})
	next.ServeHTTP(ww, r)
	if c.status == 0 {
		c.start(w, http.StatusOK)
	}
	if c.hijacked || c.overflow || c.failed || tagErr != nil {
		return
	}
	resp, ttl, ok := h.storable(c.status, c.header, c.body.Bytes())
	if !ok {
		return
	}
	// A fill: not announced to other replicas (see Cache.store). The
	// in-process tier holds it once store returns, whatever the shared
	// tier answered, so requests waiting for this miss find it.
	ctx := r.Context()
	stored = true
	if len(resp.Vary) == 0 {
		_ = h.store.store(ctx, base, resp, false, ttl, refs, false)
		return
	}
	// Both records carry the tags: an invalidated base record sends the
	// next request to the handler without a second lookup. They are
	// written in one call (one round trip).
	vary := resp.Vary
	resp.Vary = nil
	_ = h.store.storeAll(ctx, []string{variantKey(base, r, vary), base}, []Response{resp, {Vary: vary, Stored: resp.Stored}}, false, ttl, refs, false)
}

// revalidate refreshes a stale entry in the background: one request per
// key, run through next with the original request's values and a context
// detached from it. The refreshed response gets the request's tags, whose
// versions the loader reads before running next.
func (h *HTTPCache) revalidate(r *http.Request, key string, next http.Handler) {
	req := r.Clone(context.WithoutCancel(r.Context()))
	req.Header.Del("If-None-Match")
	req.Header.Del("If-Modified-Since")
	var opts []ItemOption
	if h.cfg.tags != nil {
		opts = []ItemOption{Tags(h.cfg.tags(req)...)}
	}
	load := func(ctx context.Context) (Response, time.Duration, error) {
		rec := &recorder{hdr: make(http.Header), capture: capture{max: h.cfg.maxBody}}
		next.ServeHTTP(rec, req.WithContext(ctx))
		if rec.status == 0 {
			rec.start(rec, http.StatusOK)
		}
		resp, ttl, ok := h.storable(rec.status, rec.header, rec.body.Bytes())
		if !ok || rec.overflow || len(resp.Vary) > 0 {
			return Response{}, 0, errNotStorable
		}
		return resp, ttl, nil
	}
	h.store.startLoad(r.Context(), key, h.store.loader(key, opts, load))
}

var errNotStorable = errors.New("cachex: response not storable")

// recorder is the ResponseWriter of background refreshes.
type recorder struct {
	hdr http.Header
	capture
}

func (r *recorder) Header() http.Header  { return r.hdr }
func (r *recorder) WriteHeader(code int) { r.start(r, code) }
func (r *recorder) Write(p []byte) (int, error) {
	r.start(r, http.StatusOK)
	return r.capture.Write(p)
}

// storable decides whether a response may be stored and for how long.
func (h *HTTPCache) storable(status int, header http.Header, body []byte) (Response, time.Duration, bool) {
	if !slices.Contains(h.cfg.statuses, status) || header == nil || len(header.Values("Set-Cookie")) > 0 {
		return Response{}, 0, false
	}
	ttl := h.ttl
	maxAge, sMaxAge := -1, -1
	for _, v := range header.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "private", "no-store", "no-cache":
				return Response{}, 0, false
			case "max-age":
				maxAge = parseSeconds(val)
			case "s-maxage":
				sMaxAge = parseSeconds(val)
			}
		}
	}
	switch {
	case sMaxAge >= 0:
		ttl = time.Duration(sMaxAge) * time.Second
	case maxAge >= 0:
		ttl = time.Duration(maxAge) * time.Second
	}
	if ttl <= 0 {
		return Response{}, 0, false
	}
	var vary []string
	for _, v := range header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "*" {
				return Response{}, 0, false
			}
			if f != "" {
				vary = append(vary, http.CanonicalHeaderKey(f))
			}
		}
	}
	slices.Sort(vary)
	vary = slices.Compact(vary)
	hdr := make(http.Header, len(h.cfg.replayed))
	for k, v := range header {
		if h.cfg.replayed[k] {
			hdr[k] = slices.Clone(v)
		}
	}
	if hdr.Get("ETag") == "" {
		sum := sha256.Sum256(body)
		hdr.Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	}
	return Response{Status: status, Header: hdr, Body: bytes.Clone(body), Stored: h.store.nowMs(), Vary: vary}, ttl, true
}

func parseSeconds(s string) int {
	n, err := strconv.Atoi(strings.Trim(s, `"`))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
