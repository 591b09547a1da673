package securehdr

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestNoStore(t *testing.T) {
	h := NoStore(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	w := httptest.NewRecorder()
	w.Header().Set("Cache-Control", "public, max-age=60")
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if got := w.Header().Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control = %q; want [no-store]", got)
	}
}
