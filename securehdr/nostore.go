package securehdr

import "net/http"

// NoStore is middleware that marks every response of next as not to be
// stored by any cache (Cache-Control: no-store), for authenticated pages
// and API responses that carry personal data. The header is set before
// next runs; next may still replace it.
func NoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetNoStore(w.Header())
		next.ServeHTTP(w, r)
	})
}

// SetNoStore sets Cache-Control: no-store on h, replacing any other
// caching directive, for a handler that decides per response.
func SetNoStore(h http.Header) {
	h["Cache-Control"] = []string{"no-store"}
}
