// Package chiroute lets [metrics] label requests routed by chi with chi's
// route patterns ("/users/{id}"):
//
//	m, err := metrics.New(reg, metrics.WithRouter(chiroute.Router{}))
//	r := chi.NewRouter()
//	r.Use(m.Handler) // or: handler := m.Handler(r)
//
// It is a package of its own so that a program serving with the standard
// ServeMux, which records its patterns in [http.Request.Pattern], does not
// link chi through metrics.
//
// Patterns of nested routers are joined and normalised the way chi's
// Context.RoutePattern does it ("/api/v1/*" and "/users/{id}" give
// "/api/v1/users/{id}"). The route context chi fills is shared by pointer,
// so the pattern is found even when middleware between metrics and the
// router replaces the request; when metrics runs outside the router, the
// Router gives chi a route context to fill (one allocation per request).
package chiroute
