package chiroute_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/metrics/chiroute"
)

type testKey struct{}

func TestLabel(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"/users/{id}", "/users/{id}"},
		{"/api/*/items/", "/api/items"},
		{"/api/v1/*/users/*/orders/{id}", "/api/v1/users/orders/{id}"},
		{"/", "/"},
		{"//", ""},
	}
	for _, tt := range tests {
		if got := (chiroute.Router{}).Label(tt.raw); got != tt.want {
			t.Errorf("Label(%q) = %q; want %q", tt.raw, got, tt.want)
		}
	}
}

// TestRoute: the route context Prepare adds is the one an outer chi
// router fills, even through a handler that replaces the request.
func TestRoute(t *testing.T) {
	var rt chiroute.Router
	r := chi.NewRouter()
	r.Route("/api", func(r chi.Router) {
		r.Get("/users/{id}", func(http.ResponseWriter, *http.Request) {})
	})
	ctx := rt.Prepare(context.Background())
	if again := rt.Prepare(ctx); again != ctx {
		t.Error("Prepare replaced an existing route context")
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/users/7", nil)
	replaced := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), testKey{}, 1)))
	})
	replaced.ServeHTTP(httptest.NewRecorder(), req)
	raw := rt.Route(ctx)
	if got := rt.Label(raw); got != "/api/users/{id}" {
		t.Errorf("Label(Route) = %q (raw %q); want /api/users/{id}", got, raw)
	}
	if got := rt.Route(context.Background()); got != "" {
		t.Errorf("Route without a route context = %q; want empty", got)
	}
}
