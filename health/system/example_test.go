package system_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/health/system"
)

// Serving the host's figures on an internal listener, with the open
// connections of the public server.
func Example() {
	var conns system.ConnCounter
	public := &http.Server{Addr: ":8443", ConnState: conns.ConnState, ReadHeaderTimeout: 5 * time.Second}
	_ = public
	sys, err := system.New(system.WithVersion("1.4.0"), system.WithConnCounter(&conns))
	if err != nil {
		log.Fatal(err)
	}
	internal := http.NewServeMux()
	internal.Handle("GET /metrics/health", sys)

	rec := httptest.NewRecorder()
	internal.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics/health", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 200 application/json
}
