package cachex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
)

// origin is a handler that counts its calls and answers with the body and
// headers a test asks for through the query.
type origin struct {
	calls  atomic.Int32
	header http.Header
	status int
	body   string
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.calls.Add(1)
	for k, v := range o.header {
		w.Header()[k] = v
	}
	if o.status != 0 {
		w.WriteHeader(o.status)
	}
	body := o.body
	if body == "" {
		body = fmt.Sprintf("response %d for %s %s", n, r.URL.RequestURI(), r.Header.Get("Accept-Language"))
	}
	_, _ = io.WriteString(w, body)
}

func newHTTP(t *testing.T, clk *testenv.Clock, storeOpts []Option, opts ...HTTPOption) *HTTPCache {
	t.Helper()
	store := newCache[Response](t, append([]Option{withClock(clk), WithJitter(0)}, storeOpts...)...)
	h, err := NewHTTPCache(store, time.Minute, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHTTPHitMissAgeETag(t *testing.T) {
	clk := newClock()
	o := &origin{header: http.Header{"Content-Type": {"text/plain"}}}
	h := newHTTP(t, clk, nil).Handler(o)
	w1 := do(h, "GET", "/items?b=2&a=1")
	if got := w1.Header().Get("X-Cache"); got != "MISS" {
		t.Fatalf("first X-Cache = %q; want MISS", got)
	}
	clk.Add(5 * time.Second)
	w2 := do(h, "GET", "/items?a=1&b=2")
	if got := w2.Header().Get("X-Cache"); got != "HIT" {
		t.Fatalf("second X-Cache = %q; want HIT (query order must not matter)", got)
	}
	if w2.Body.String() != w1.Body.String() || w2.Header().Get("Age") != "5" || w2.Header().Get("Content-Type") != "text/plain" {
		t.Fatalf("HIT = %q Age %q; want %q Age 5", w2.Body, w2.Header().Get("Age"), w1.Body)
	}
	etag := w2.Header().Get("ETag")
	if etag == "" {
		t.Fatal("HIT without ETag")
	}
	w3 := do(h, "GET", "/items?a=1&b=2", "If-None-Match", `"other", W/`+etag)
	if w3.Code != http.StatusNotModified || w3.Body.Len() != 0 {
		t.Fatalf("If-None-Match = %d %q; want 304 without body", w3.Code, w3.Body)
	}
	w4 := do(h, "HEAD", "/items?a=1&b=2")
	if w4.Header().Get("X-Cache") != "HIT" || w4.Body.Len() != 0 || w4.Header().Get("Content-Length") != fmt.Sprint(w1.Body.Len()) {
		t.Fatalf("HEAD = %q %q len %s", w4.Header().Get("X-Cache"), w4.Body, w4.Header().Get("Content-Length"))
	}
	if o.calls.Load() != 1 {
		t.Fatalf("origin called %d times; want 1", o.calls.Load())
	}
	clk.Add(time.Minute)
	if got := do(h, "GET", "/items?a=1&b=2").Header().Get("X-Cache"); got != "MISS" {
		t.Fatalf("after TTL X-Cache = %q; want MISS", got)
	}
}

func TestHTTPNeverStores(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		status int
		req    []string
		method string
	}{
		{"set-cookie", http.Header{"Set-Cookie": {"s=1"}}, 0, nil, "GET"},
		{"private", http.Header{"Cache-Control": {"private, max-age=60"}}, 0, nil, "GET"},
		{"no-store", http.Header{"Cache-Control": {"no-store"}}, 0, nil, "GET"},
		{"no-cache", http.Header{"Cache-Control": {"public", "no-cache"}}, 0, nil, "GET"},
		{"max-age 0", http.Header{"Cache-Control": {"max-age=0"}}, 0, nil, "GET"},
		{"vary star", http.Header{"Vary": {"*"}}, 0, nil, "GET"},
		{"404", nil, http.StatusNotFound, nil, "GET"},
		{"authorization", nil, 0, []string{"Authorization", "Bearer x"}, "GET"},
		{"cookie", nil, 0, []string{"Cookie", "sid=1"}, "GET"},
		{"post", nil, 0, nil, "POST"},
		{"head miss", nil, 0, nil, "HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &origin{header: tt.header, status: tt.status}
			h := newHTTP(t, newClock(), nil).Handler(o)
			for i := 0; i < 2; i++ {
				if x := do(h, tt.method, "/x", tt.req...).Header().Get("X-Cache"); x == "HIT" {
					t.Fatalf("request %d was a HIT", i)
				}
			}
			if o.calls.Load() != 2 {
				t.Fatalf("origin called %d times; want 2", o.calls.Load())
			}
		})
	}
}

func TestHTTPMaxAgeAndVary(t *testing.T) {
	clk := newClock()
	o := &origin{header: http.Header{"Cache-Control": {"public, max-age=100, s-maxage=10"}, "Vary": {"accept-language"}, "Etag": {`"v1"`}}}
	h := newHTTP(t, clk, nil).Handler(o)
	en := do(h, "GET", "/p", "Accept-Language", "en")
	fr := do(h, "GET", "/p", "Accept-Language", "fr")
	if en.Body.String() == fr.Body.String() {
		t.Fatal("variants share a body")
	}
	en2 := do(h, "GET", "/p", "Accept-Language", "en")
	if en2.Header().Get("X-Cache") != "HIT" || en2.Body.String() != en.Body.String() || en2.Header().Get("ETag") != `"v1"` {
		t.Fatalf("en variant = %q %q", en2.Header().Get("X-Cache"), en2.Body)
	}
	clk.Add(11 * time.Second) // s-maxage wins over max-age
	if x := do(h, "GET", "/p", "Accept-Language", "en").Header().Get("X-Cache"); x != "MISS" {
		t.Fatalf("after s-maxage X-Cache = %q; want MISS", x)
	}
}

func TestHTTPPerUserAndKeyHeaders(t *testing.T) {
	clk := newClock()
	o := &origin{}
	perUser := func(r *http.Request) (string, bool) {
		u, ok := strings.CutPrefix(r.Header.Get("Authorization"), "User ")
		return u, ok
	}
	h := newHTTP(t, clk, nil, WithPerUserKey(perUser), WithKeyHeaders("x-tenant")).Handler(o)
	a := do(h, "GET", "/me", "Authorization", "User ann")
	b := do(h, "GET", "/me", "Authorization", "User bob")
	if a.Body.String() == b.Body.String() {
		t.Fatal("two users got one response")
	}
	if x := do(h, "GET", "/me", "Authorization", "User ann").Header().Get("X-Cache"); x != "HIT" {
		t.Fatalf("ann again X-Cache = %q; want HIT", x)
	}
	if x := do(h, "GET", "/me", "Authorization", "Basic zzz").Header().Get("X-Cache"); x != "" {
		t.Fatalf("unknown credentials X-Cache = %q; want a bypass", x)
	}
	do(h, "GET", "/t", "X-Tenant", "1")
	if x := do(h, "GET", "/t", "X-Tenant", "2").Header().Get("X-Cache"); x != "MISS" {
		t.Fatalf("other tenant X-Cache = %q; want MISS", x)
	}
	if x := do(h, "GET", "/t", "X-Tenant", "1").Header().Get("X-Cache"); x != "HIT" {
		t.Fatalf("same tenant X-Cache = %q; want HIT", x)
	}
}

func TestHTTPStaleWhileRevalidate(t *testing.T) {
	clk := newClock()
	o := &origin{}
	hc := newHTTP(t, clk, []Option{WithStaleWhileRevalidate(time.Minute)})
	h := hc.Handler(o)
	first := do(h, "GET", "/s")
	clk.Add(61 * time.Second)
	stale := do(h, "GET", "/s")
	if stale.Header().Get("X-Cache") != "STALE" || stale.Body.String() != first.Body.String() {
		t.Fatalf("X-Cache = %q body %q; want STALE with the old body", stale.Header().Get("X-Cache"), stale.Body)
	}
	waitIdle(t, hc.store)
	fresh := do(h, "GET", "/s")
	if fresh.Header().Get("X-Cache") != "HIT" || fresh.Body.String() == first.Body.String() {
		t.Fatalf("after refresh X-Cache = %q body %q", fresh.Header().Get("X-Cache"), fresh.Body)
	}
	if o.calls.Load() != 2 {
		t.Fatalf("origin called %d times; want 2", o.calls.Load())
	}
}

func TestHTTPLargeBodyNotStored(t *testing.T) {
	o := &origin{body: strings.Repeat("x", 100)}
	h := newHTTP(t, newClock(), nil, WithMaxBody(50)).Handler(o)
	do(h, "GET", "/big")
	w := do(h, "GET", "/big")
	if w.Header().Get("X-Cache") != "MISS" || w.Body.Len() != 100 {
		t.Fatalf("big body X-Cache = %q len %d", w.Header().Get("X-Cache"), w.Body.Len())
	}
}

func TestNewHTTPCacheRejects(t *testing.T) {
	store := newCache[Response](t)
	for name, f := range map[string]func() (*HTTPCache, error){
		"nil store": func() (*HTTPCache, error) { return NewHTTPCache(nil, time.Minute) },
		"ttl":       func() (*HTTPCache, error) { return NewHTTPCache(store, 0) },
		"status":    func() (*HTTPCache, error) { return NewHTTPCache(store, time.Minute, WithStatuses(99)) },
		"per user":  func() (*HTTPCache, error) { return NewHTTPCache(store, time.Minute, WithPerUserKey(nil)) },
		"max body":  func() (*HTTPCache, error) { return NewHTTPCache(store, time.Minute, WithMaxBody(0)) },
		"tags":      func() (*HTTPCache, error) { return NewHTTPCache(store, time.Minute, WithTags(nil)) },
		"miss wait": func() (*HTTPCache, error) { return NewHTTPCache(store, time.Minute, WithMissWait(-1)) },
	} {
		if _, err := f(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestHTTPEndToEndRedis runs a real server over a Redis-backed store, with
// a handler that streams its body with io.Copy and one served by a second
// replica.
func TestHTTPEndToEndRedis(t *testing.T) {
	r := testenv.NewRedis(t)
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /doc", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.Copy(w, strings.NewReader(strings.Repeat("doc ", 1000)))
	})
	newServer := func() *httptest.Server {
		store := redisCache[Response](t, r)
		hc, err := NewHTTPCache(store, time.Minute, WithStatuses(200, 203))
		if err != nil {
			t.Fatal(err)
		}
		s := httptest.NewServer(hc.Handler(mux))
		t.Cleanup(s.Close)
		return s
	}
	s1, s2 := newServer(), newServer()
	get := func(s *httptest.Server) (string, string) {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", s.URL+"/doc", nil)
		req.Host = "docs.example" // both replicas sit behind one name
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("X-Cache"), string(b)
	}
	x1, b1 := get(s1)
	x2, b2 := get(s2)
	if x1 != "MISS" || x2 != "HIT" || b1 != b2 || len(b1) != 4000 {
		t.Fatalf("X-Cache %q then %q, bodies %d/%d bytes", x1, x2, len(b1), len(b2))
	}
	if calls.Load() != 1 {
		t.Fatalf("handler called %d times; want 1", calls.Load())
	}
}

// failingWriter fails every body write, as a connection closed by the
// client does.
type failingWriter struct{ *httptest.ResponseRecorder }

func (f failingWriter) Write([]byte) (int, error)       { return 0, io.ErrClosedPipe }
func (f failingWriter) WriteString(string) (int, error) { return 0, io.ErrClosedPipe }

func TestHTTPFailedWriteNotStored(t *testing.T) {
	o := &origin{}
	h := newHTTP(t, newClock(), nil).Handler(o)
	h.ServeHTTP(failingWriter{httptest.NewRecorder()}, httptest.NewRequest("GET", "/f", nil))
	if x := do(h, "GET", "/f").Header().Get("X-Cache"); x != "MISS" {
		t.Fatalf("after a failed write X-Cache = %q; want MISS (truncated body not stored)", x)
	}
}

func TestVariantKeyHidesHeaderValues(t *testing.T) {
	req := func(auth string) *http.Request {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", auth)
		return r
	}
	a := variantKey("base", req("Bearer secret-token-a"), []string{"Authorization"})
	b := variantKey("base", req("Bearer secret-token-b"), []string{"Authorization"})
	if strings.Contains(a, "secret") || strings.Contains(b, "secret") {
		t.Errorf("variantKey = %q; holds the header value", a)
	}
	if a == b || !strings.HasPrefix(a, "base") {
		t.Errorf("variantKey for two tokens = %q, %q; want distinct keys under the base", a, b)
	}
	if a != variantKey("base", req("Bearer secret-token-a"), []string{"Authorization"}) {
		t.Errorf("variantKey is not stable")
	}
}

// TestHTTPReplaysOnlyRepresentationHeaders fills the cache from a request
// whose outer middleware and handler set per-request headers, then serves
// a hit: the hit carries the representation's headers and its own
// per-request ones, none of the filling request's.
func TestHTTPReplaysOnlyRepresentationHeaders(t *testing.T) {
	h := newHTTP(t, newClock(), nil, WithReplayedHeaders("X-Total-Count"))
	// outer stands for request-ID, rate-limit and CORS middleware around
	// the cache.
	outer := func(id, remaining string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", id)
			w.Header().Set("RateLimit-Remaining", remaining)
			w.Header().Set("RateLimit", `"default";r=`+remaining)
			w.Header().Add("Vary", "Origin")
			next.ServeHTTP(w, r)
		})
	}
	inner := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Type", "application/json")
		hd.Set("Cache-Control", "public, max-age=60")
		hd.Set("Last-Modified", "Mon, 01 Jun 2026 00:00:00 GMT")
		hd.Set("X-Total-Count", "42")
		hd.Set("Date", "Mon, 01 Jun 2026 00:00:00 GMT")
		hd.Set("Retry-After", "7")
		hd.Set("Server-Timing", "db;dur=53")
		hd.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		hd.Set("X-Frame-Options", "DENY")
		hd.Add("Vary", "Accept-Language")
		_, _ = io.WriteString(w, `{"users":[]}`)
	}))
	serve := func(id, remaining string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		outer(id, remaining, inner).ServeHTTP(w, httptest.NewRequest("GET", "/users", nil))
		return w
	}
	if w := serve("fill", "9"); w.Header().Get("X-Cache") != "MISS" {
		t.Fatalf("first request X-Cache = %q; want MISS", w.Header().Get("X-Cache"))
	}
	w := serve("hit", "8")
	got := w.Header()
	if got.Get("X-Cache") != "HIT" || w.Body.String() != `{"users":[]}` {
		t.Fatalf("second request: X-Cache %q, body %q; want a hit", got.Get("X-Cache"), w.Body.String())
	}
	for k, want := range map[string]string{
		"X-Request-Id":        "hit",
		"Ratelimit-Remaining": "8",
		"Ratelimit":           `"default";r=8`,
		"Content-Type":        "application/json",
		"Cache-Control":       "public, max-age=60",
		"Last-Modified":       "Mon, 01 Jun 2026 00:00:00 GMT",
		"X-Total-Count":       "42",
	} {
		if v := strings.Join(got.Values(k), ", "); v != want {
			t.Errorf("hit %s = %q; want %q", k, v, want)
		}
	}
	for _, k := range []string{"Date", "Retry-After", "Server-Timing", "Traceparent", "X-Frame-Options"} {
		if v, ok := got[k]; ok {
			t.Errorf("hit replays %s = %q from the filling request", k, v)
		}
	}
	if v := got.Values("Vary"); strings.Join(v, ", ") != "Origin, Accept-Language" {
		t.Errorf("hit Vary = %q; want the outer Origin merged with the stored Accept-Language", v)
	}
	if got.Get("ETag") == "" || got.Get("Age") == "" {
		t.Errorf("hit lacks ETag or Age: %v", got)
	}
}

func TestWithReplayedHeadersRefusesPerRequest(t *testing.T) {
	store := newCache[Response](t)
	for _, name := range []string{"Set-Cookie", "x-request-id", "RateLimit-Policy", "X-RateLimit-Limit", "Date", "traceparent", "Server-Timing", "Retry-After", ""} {
		if _, err := NewHTTPCache(store, time.Minute, WithReplayedHeaders(name)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("WithReplayedHeaders(%q): %v; want ErrInvalidConfig", name, err)
		}
	}
}

// productTags tags /products/{id} with "products" and "product:{id}", and
// leaves other paths untagged.
func productTags(r *http.Request) []string {
	id, ok := strings.CutPrefix(r.URL.Path, "/products/")
	if !ok {
		return nil
	}
	return []string{"products", "product:" + id}
}

// redisHTTP is an HTTP cache over a subscribed store on r.
func redisHTTP(t *testing.T, r *testenv.Redis, storeOpts []Option, opts ...HTTPOption) *HTTPCache {
	t.Helper()
	h, err := NewHTTPCache(redisCache[Response](t, r, storeOpts...), time.Minute, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHTTPTagsAcrossReplicas stores tagged responses through replica a and
// serves them from replica b's in-process tier; InvalidateTag on a turns
// those with the tag into misses on both, whatever their key.
func TestHTTPTagsAcrossReplicas(t *testing.T) {
	perUser := func(r *http.Request) (string, bool) {
		return strings.CutPrefix(r.Header.Get("Authorization"), "User ")
	}
	tests := []struct {
		name       string
		header     http.Header // the handler's
		req        []string    // request headers
		target     string
		invalidate string
		want       string // X-Cache once the invalidation arrived
	}{
		{"product tag", nil, nil, "/products/1?x=1", "product:1", "MISS"},
		{"list tag", nil, nil, "/products/1", "products", "MISS"},
		{"vary", http.Header{"Vary": {"Accept-Language"}}, []string{"Accept-Language", "fr"}, "/products/2", "products", "MISS"},
		{"per user", nil, []string{"Authorization", "User ann"}, "/products/3", "product:3", "MISS"},
		{"other tag", nil, nil, "/products/4", "product:5", "HIT"},
		{"untagged path", nil, nil, "/about", "products", "HIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := testenv.NewRedis(t)
			o := &origin{header: tt.header}
			a := redisHTTP(t, r, nil, WithTags(productTags), WithPerUserKey(perUser))
			b := redisHTTP(t, r, nil, WithTags(productTags), WithPerUserKey(perUser))
			ha, hb := a.Handler(o), b.Handler(o)
			if x := do(ha, "GET", tt.target, tt.req...).Header().Get("X-Cache"); x != "MISS" {
				t.Fatalf("a: first X-Cache = %q; want MISS", x)
			}
			// a's own message may spoil b's first copy: request until b
			// serves from process.
			waitFor(t, "b to serve from process", func() bool {
				if x := do(hb, "GET", tt.target, tt.req...).Header().Get("X-Cache"); x != "HIT" {
					t.Fatalf("b: X-Cache = %q; want HIT", x)
				}
				return b.store.Stats().Local.Hits > 0
			})
			if calls := o.calls.Load(); calls != 1 {
				t.Fatalf("handler ran %d times; want 1", calls)
			}
			// b keeps a sentinel that a deletes after the invalidation:
			// once b has dropped it, b has had the invalidation too (Redis
			// delivers messages in order).
			if err := b.store.Set(ctx, "sentinel", Response{}, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := a.InvalidateTag(ctx, tt.invalidate); err != nil {
				t.Fatal(err)
			}
			if err := a.InvalidateTag(ctx); err != nil {
				t.Fatal(err)
			}
			if err := a.store.Delete(ctx, "sentinel"); err != nil {
				t.Fatal(err)
			}
			// HEAD requests: a miss is passed through, not stored.
			if x := do(ha, "HEAD", tt.target, tt.req...).Header().Get("X-Cache"); x != tt.want {
				t.Fatalf("a: X-Cache after InvalidateTag(%s) = %q; want %s", tt.invalidate, x, tt.want)
			}
			deadline := time.Now().Add(staleBound)
			for {
				_, pending := b.store.local.GetIfPresent("sentinel")
				x := do(hb, "HEAD", tt.target, tt.req...).Header().Get("X-Cache")
				if x == tt.want && !pending {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("b: X-Cache = %q %v after InvalidateTag(%s) (message pending: %v); want %s", x, staleBound, tt.invalidate, pending, tt.want)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestHTTPTagsReadBeforeHandler invalidates the tag while the handler
// runs: the response it stored carries the version from before, so the
// next request is a miss, and the one after that a hit.
func TestHTTPTagsReadBeforeHandler(t *testing.T) {
	for _, tt := range []struct {
		name  string
		redis bool
		vary  bool
	}{{"local", false, false}, {"local vary", false, true}, {"redis", true, false}, {"redis vary", true, true}} {
		t.Run(tt.name, func(t *testing.T) {
			var hc *HTTPCache
			if tt.redis {
				hc = redisHTTP(t, testenv.NewRedis(t), nil, WithTags(productTags))
			} else {
				hc = newHTTP(t, newClock(), nil, WithTags(productTags))
			}
			var calls atomic.Int32
			h := hc.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					if err := hc.InvalidateTag(r.Context(), "product:1"); err != nil {
						t.Errorf("InvalidateTag: %v", err)
					}
				}
				if tt.vary {
					w.Header().Set("Vary", "Accept-Language")
				}
				_, _ = io.WriteString(w, "product 1")
			}))
			for i, want := range []string{"MISS", "MISS", "HIT"} {
				if x := do(h, "GET", "/products/1", "Accept-Language", "en").Header().Get("X-Cache"); x != want {
					t.Fatalf("request %d: X-Cache = %q; want %s", i, x, want)
				}
			}
		})
	}
}

// TestHTTPTagsUnreadable: a response whose tag versions cannot be read is
// served and not stored; an untagged one is stored as before.
func TestHTTPTagsUnreadable(t *testing.T) {
	many := func(*http.Request) []string {
		tags := make([]string, maxTags+1)
		for i := range tags {
			tags[i] = fmt.Sprint("t", i)
		}
		return tags
	}
	tests := []struct {
		name   string
		down   bool // the shared tier is down
		tags   func(*http.Request) []string
		target string
		second string // X-Cache of the second request
	}{
		{"shared tier down", true, productTags, "/products/1", "MISS"},
		{"shared tier down, untagged", true, productTags, "/about", "HIT"},
		{"too many tags", false, many, "/x", "MISS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var storeOpts []Option
			if tt.down {
				storeOpts = append(storeOpts, outages[0].tier(t))
			}
			o := &origin{}
			h := newHTTP(t, newClock(), storeOpts, WithTags(tt.tags)).Handler(o)
			first := do(h, "GET", tt.target)
			if first.Code != http.StatusOK || first.Header().Get("X-Cache") != "MISS" || first.Body.Len() == 0 {
				t.Fatalf("first request = %d %q %q; want the handler's response", first.Code, first.Header().Get("X-Cache"), first.Body)
			}
			if x := do(h, "GET", tt.target).Header().Get("X-Cache"); x != tt.second {
				t.Fatalf("second X-Cache = %q; want %s", x, tt.second)
			}
		})
	}
}

// TestHTTPTaggedHitNoSharedCalls serves hot tagged responses (whose tag
// versions are kept in process) from the in-process tier, and counts the
// calls to the shared tier under it: none.
func TestHTTPTaggedHitNoSharedCalls(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
	}{
		{"plain", nil},
		{"vary", http.Header{"Vary": {"Accept-Language"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testenv.NewRedis(t)
			p := newProbe(t, r, false)
			store := newCache[Response](t, WithShared(p))
			subscribed(t, store)
			hc, err := NewHTTPCache(store, time.Minute, WithTags(productTags))
			if err != nil {
				t.Fatal(err)
			}
			h := hc.Handler(&origin{header: tt.header})
			before := p.calls()
			if x := do(h, "GET", "/products/1", "Accept-Language", "en").Header().Get("X-Cache"); x != "MISS" {
				t.Fatalf("first X-Cache = %q; want MISS", x)
			}
			if p.calls() == before {
				t.Fatal("a miss made no call to the shared tier: the probe counts nothing")
			}
			records := 0 // the response, and with Vary the base record
			for k, e := range store.local.All() {
				records++
				if len(e.tags) != 2 {
					t.Errorf("record %q has tags %v; want products and product:1", k, e.tags)
				}
			}
			if want := 1 + len(tt.header); records != want {
				t.Errorf("%d records stored; want %d", records, want)
			}
			before = p.calls()
			for i := range 10 {
				if x := do(h, "GET", "/products/1", "Accept-Language", "en").Header().Get("X-Cache"); x != "HIT" {
					t.Fatalf("request %d: X-Cache = %q; want HIT", i, x)
				}
			}
			if n := p.calls() - before; n != 0 {
				t.Fatalf("10 hits made %d calls to the shared tier (%d Get, %d Add); want 0", n, p.gets.Load(), p.adds.Load())
			}
		})
	}
}

// TestHTTPTagsRevalidate: a response refreshed in the background carries
// its tags too.
func TestHTTPTagsRevalidate(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	o := &origin{}
	hc := newHTTP(t, clk, []Option{WithStaleWhileRevalidate(time.Minute)}, WithTags(productTags))
	h := hc.Handler(o)
	do(h, "GET", "/products/1")
	clk.Add(61 * time.Second)
	if x := do(h, "GET", "/products/1").Header().Get("X-Cache"); x != "STALE" {
		t.Fatalf("X-Cache = %q; want STALE", x)
	}
	waitIdle(t, hc.store)
	if x := do(h, "GET", "/products/1").Header().Get("X-Cache"); x != "HIT" || o.calls.Load() != 2 {
		t.Fatalf("after the refresh X-Cache = %q, handler calls %d; want HIT, 2", x, o.calls.Load())
	}
	if err := hc.InvalidateTag(ctx, "product:1"); err != nil {
		t.Fatal(err)
	}
	if x := do(h, "GET", "/products/1").Header().Get("X-Cache"); x != "MISS" {
		t.Fatalf("X-Cache after InvalidateTag = %q; want MISS: the refreshed response lost its tags", x)
	}
}
