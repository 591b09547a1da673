package chiroute

import (
	"context"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/metrics"
)

// Router reads chi's route patterns for [metrics.WithRouter]. The zero
// value is ready to use and safe for concurrent use.
type Router struct{}

var _ metrics.Router = Router{}

// Prepare gives chi a route context to fill when ctx has none yet, which is
// the case when the metrics middleware runs outside the chi router.
func (Router) Prepare(ctx context.Context) context.Context {
	if chi.RouteContext(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, chi.RouteCtxKey, chi.NewRouteContext())
}

// Route returns the patterns chi matched, joined (an allocation only for
// nested routers), or "".
func (Router) Route(ctx context.Context) string {
	rctx := chi.RouteContext(ctx)
	if rctx == nil {
		return ""
	}
	switch n := len(rctx.RoutePatterns); {
	case n == 0:
		return ""
	case n == 1:
		return rctx.RoutePatterns[0]
	}
	return strings.Join(rctx.RoutePatterns, "")
}

// Label normalises a joined route as chi's Context.RoutePattern does:
// "/*/" between nested routers becomes "/", and a trailing "/" or "//" is
// dropped except from "/" itself.
func (Router) Label(raw string) string {
	p := raw
	for strings.Contains(p, "/*/") {
		p = strings.ReplaceAll(p, "/*/", "/")
	}
	if p != "/" {
		p = strings.TrimSuffix(p, "//")
		p = strings.TrimSuffix(p, "/")
	}
	return p
}
