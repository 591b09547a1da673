package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkStack serves the route in-process through each stack, for
// allocation counts and CPU profiles without the network and wrk.
func BenchmarkStack(b *testing.B) {
	auth := newCovetAuth()
	tok := token(auth)
	for _, mode := range []string{"bare", "anchor", "covet"} {
		b.Run(mode, func(b *testing.B) {
			h, err := newRouter(mode, auth)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodGet, "/api/hello", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("%s: status %d", mode, w.Code)
					}
				}
			})
		})
	}
}
