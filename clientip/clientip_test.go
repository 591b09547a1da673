package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
)

func TestAddr(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.4")
	if got := Addr(r).String(); got != "10.0.0.1" {
		t.Errorf("Addr without a resolver = %s; want the peer (headers are not read)", got)
	}
	var seen netip.Addr
	h := middleware.ClientIPFromXFF("10.0.0.0/8")(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = Addr(r) }))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if seen.String() != "198.51.100.4" {
		t.Errorf("Addr after ClientIPFromXFF = %s; want 198.51.100.4", seen)
	}
}
