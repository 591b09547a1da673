package app

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/covetgo/covet/testenv"
)

// routeSeries reads the value of metric{route="route"} from a /metrics
// body (0 when absent).
func routeSeries(t *testing.T, body []byte, metric, route string) float64 {
	t.Helper()
	prefix := metric + `{route="` + route + `"} `
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s%s: %v", prefix, v, err)
			}
			return f
		}
	}
	return 0
}

// TestRateLimitLeaseRoundTrips: with Redis, the global limit takes its
// allowance in leases (about one Redis round trip per RATE_LIMIT_LEASE
// requests of a client), RATE_LIMIT_LEASE=0 asks Redis on every request,
// the login limit stays exact either way, and the round trips show per
// route in example_redis_roundtrips_total beside
// example_route_requests_total.
func TestRateLimitLeaseRoundTrips(t *testing.T) {
	const requests = 40
	for _, tt := range []struct {
		lease    string
		min, max float64 // round trips for the requests
	}{
		// 40 requests, leases of 10: 4 calls, one more for the lease
		// refilled ahead in the background (counted on the route even
		// when it ends after the request), one more if the script had
		// to be loaded (EVALSHA answered NOSCRIPT, then EVAL), and more
		// if a loaded machine takes longer than a lease's 0.5 s to
		// spend it; however slow, far fewer than one per request.
		{"10", 4, requests / 2},
		{"0", requests, requests + 1},
	} {
		t.Run("RATE_LIMIT_LEASE="+tt.lease, func(t *testing.T) {
			rd := testenv.NewRedis(t)
			env := baseEnv(t)
			env["REDIS_URL"] = rd.URL
			env["APP_NAME"] = strings.TrimSuffix(rd.Prefix, ":")
			env["RATE_LIMIT"] = "1000/hour"
			env["RATE_LIMIT_LEASE"] = tt.lease
			s := startServer(t, env)
			global, login, err := s.app.rateStores()
			if err != nil {
				t.Fatal(err)
			}
			if leased := global != login; leased != (tt.lease != "0") {
				t.Errorf("global store leased = %v; want %v (and the login store exact)", leased, tt.lease != "0")
			}
			// An unknown path: the global limit is its only Redis work.
			for i := 0; i < requests; i++ {
				want(t, "GET /nowhere", s.do("GET", "/nowhere", "", "198.51.100.7", nil), 404)
			}
			body := s.internal("/metrics").body
			reqs := routeSeries(t, body, "example_route_requests_total", "unmatched")
			trips := routeSeries(t, body, "example_redis_roundtrips_total", "unmatched")
			t.Logf("RATE_LIMIT_LEASE=%s: %v requests, %v Redis round trips (%.2f per request)", tt.lease, reqs, trips, trips/reqs)
			if reqs != requests || trips < tt.min || trips > tt.max {
				t.Fatalf("route unmatched: %v requests, %v round trips; want %d and %v to %v", reqs, trips, requests, tt.min, tt.max)
			}
		})
	}
}
