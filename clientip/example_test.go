package clientip_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/covetgo/covet/clientip"
)

// Behind a load balancer in 10.0.0.0/8 that appends to X-Forwarded-For,
// the client is the rightmost address that is not the balancer's; what the
// client wrote to the left of it is ignored.
func Example() {
	ips, err := clientip.New([]string{"10.0.0.0/8"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "client:", clientip.Addr(r))
	})
	h := ips.Handler(mux)

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.7:50312"
	r.Header.Set("X-Forwarded-For", "1.2.3.4, 203.0.113.9") // "1.2.3.4" is the client's own claim
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Body)
	// Output: client: 203.0.113.9
}

// With RFC 7239's Forwarded header instead.
func ExampleWithHeader() {
	ips, err := clientip.New([]string{"10.0.0.0/8"}, clientip.WithHeader(clientip.Forwarded))
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.7:50312"
	r.Header.Set("Forwarded", `for="[2001:db8:cafe::17]:4711";proto=https`)
	fmt.Println(ips.Resolve(r))
	// Output: 2001:db8:cafe::17
}

// Without a Resolver in front, Addr is the direct peer: forwarded headers
// are never believed by default.
func ExampleAddr() {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "198.51.100.20:40000"
	r.Header.Set("X-Forwarded-For", "1.2.3.4")
	fmt.Println(clientip.Addr(r))
	// Output: 198.51.100.20
}
