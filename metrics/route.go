package metrics

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
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

// Where a route pattern came from; part of the cache key because chi and
// ServeMux normalise their raw patterns differently.
const (
	srcNone uint8 = iota
	srcChi
	srcMux
)

// rawRoute returns the route pattern of a served request in raw form (cheap,
// usually without allocating) and its source. It must be called after the
// router ran: chi fills its route context and ServeMux sets r.Pattern while
// routing.
//
// buf is scratch space for joining the patterns of nested chi routers.
func rawRoute(r *http.Request, rctx *chi.Context, buf []byte) (string, uint8) {
	if rctx != nil {
		switch n := len(rctx.RoutePatterns); {
		case n == 1:
			return rctx.RoutePatterns[0], srcChi
		case n > 1:
			buf = buf[:0]
			for _, p := range rctx.RoutePatterns {
				buf = append(buf, p...)
			}
			// Joined patterns up to 32 bytes stay on the stack; a longer
			// one costs an allocation (48 bytes for a 40-byte route).
			return string(buf), srcChi
		}
	}
	if r.Pattern != "" {
		return r.Pattern, srcMux
	}
	return "", srcNone
}

// endpointLabel turns a raw route into the endpoint label value. It runs
// once per distinct raw route; the result is cached.
func endpointLabel(raw string, src uint8) string {
	switch src {
	case srcChi:
		// The same normalisation as chi's Context.RoutePattern.
		p := raw
		for strings.Contains(p, "/*/") {
			p = strings.ReplaceAll(p, "/*/", "/")
		}
		if p != "/" {
			p = strings.TrimSuffix(p, "//")
			p = strings.TrimSuffix(p, "/")
		}
		if p == "" {
			return UnmatchedEndpoint
		}
		return strings.Clone(p)
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
