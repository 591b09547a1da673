package metrics

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/covetgo/covet/internal/typednil"
)

// Label values used when the request gives no better one.
const (
	// UnmatchedEndpoint is the endpoint label of every request that no route
	// matched (404s from the router, scanners probing random paths), so that
	// unknown paths share one series.
	UnmatchedEndpoint = "unmatched"
	// OtherMethod is the method label of every request whose method is not
	// one of the nine standard HTTP methods.
	OtherMethod = "OTHER"
)

var methodNames = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodConnect,
	http.MethodOptions, http.MethodTrace, OtherMethod,
}

// methodIndex maps a request method to its index in methodNames without
// allocating; unknown methods collapse to OTHER.
func methodIndex(m string) uint8 {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodDelete:
		return 5
	case http.MethodConnect:
		return 6
	case http.MethodOptions:
		return 7
	case http.MethodTrace:
		return 8
	}
	return 9
}

// Router lets the middleware label requests served by a router that does
// not record its route pattern in [http.Request.Pattern], such as chi
// (metrics/chiroute implements it). Configure one with [WithRouter].
// Implementations must be safe for concurrent use.
type Router interface {
	// Prepare is called before the handler with the request's context and
	// returns the context the handler gets: ctx itself, or ctx with a
	// place the router records its route in, so that the route is found
	// even when middleware between replaces the request.
	Prepare(ctx context.Context) context.Context
	// Route returns the route recorded in ctx once the handler returned,
	// in a raw form that is cheap to build, or "" when the router matched
	// nothing.
	Route(ctx context.Context) string
	// Label turns a raw route from Route into the endpoint label. It runs
	// once per distinct raw route; the middleware caches the result.
	Label(raw string) string
}

// WithRouter makes the middleware read route patterns from rt before it
// looks at [http.Request.Pattern]: with chi,
//
//	metrics.New(reg, metrics.WithRouter(chiroute.Router{}))
//
// Without it the middleware reads [http.Request.Pattern], which ServeMux
// and chi (v5.2 and later) set on the request they are given: enough when
// nothing between the middleware and the router replaces the request. The
// Router lives in its own package so that a program that does not use chi
// does not link it. Read by [New] and [NewAccessLog].
func WithRouter(rt Router) AccessLogOption {
	return func(c *config) {
		if typednil.Is(rt) {
			c.fail("router is nil")
			return
		}
		c.router = rt
	}
}

// WithServeMux names the [http.ServeMux] the middleware serves, so that the
// endpoint label survives middleware placed between the two that replaces
// the request (r.WithContext: request IDs, CSP nonces, client addresses).
// ServeMux records the matched pattern on the request it is given; when the
// request the middleware holds has none after the handler, the middleware
// asks mux which pattern matches it ([http.ServeMux.Handler]), one extra
// route lookup per such request. Middleware in between must not rewrite
// the path (put http.StripPrefix inside the mux). Read by [New] and
// [NewAccessLog].
func WithServeMux(mux *http.ServeMux) AccessLogOption {
	return func(c *config) {
		if mux == nil {
			c.fail("ServeMux is nil")
			return
		}
		c.mux = mux
	}
}

// Where a route pattern came from; part of the cache key because routers
// and ServeMux normalise their raw patterns differently.
const (
	srcNone uint8 = iota
	srcRouter
	srcMux
)

// rawRoute returns the route pattern of a served request in raw form (cheap,
// usually without allocating) and its source. It must be called after the
// router ran: a Router records its route in the context and ServeMux sets
// r.Pattern while routing.
func (c *core) rawRoute(r *http.Request, status int, w http.ResponseWriter) (string, uint8) {
	if c.router != nil {
		if raw := c.router.Route(r.Context()); raw != "" {
			return raw, srcRouter
		}
	}
	p := r.Pattern
	if p == "" && c.mux != nil {
		_, p = c.mux.Handler(r)
	}
	if p == "" || muxRedirect(p, status, w) {
		return "", srcNone
	}
	return p, srcMux
}

// muxRedirect reports whether pattern is not a pattern but the path of one
// of ServeMux's own trailing-slash redirects ("/users/42" to
// "/users/42/"), which it reports as the request's pattern for CONNECT
// requests: labelling by it would give every path its own series.
func muxRedirect(pattern string, status int, w http.ResponseWriter) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return false
	}
	loc := w.Header().Get("Location")
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		loc = loc[:i]
	}
	if loc == pattern {
		return true
	}
	u, err := url.PathUnescape(loc)
	return err == nil && u == pattern
}

// endpointLabel turns a raw route into the endpoint label value. It runs
// once per distinct raw route; the result is cached.
func (c *core) endpointLabel(raw string, src uint8) string {
	switch src {
	case srcRouter:
		if p := c.router.Label(raw); p != "" {
			return strings.Clone(p)
		}
		return UnmatchedEndpoint
	case srcMux:
		// ServeMux patterns are "[METHOD ][HOST]/[PATH]"; the method has
		// its own label.
		p := raw
		if i := strings.IndexAny(p, " \t"); i >= 0 {
			p = strings.TrimLeft(p[i:], " \t")
		}
		return strings.Clone(p)
	}
	return UnmatchedEndpoint
}
