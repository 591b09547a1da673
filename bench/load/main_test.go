package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseRoundTrips(t *testing.T) {
	const text = `# HELP example_redis_roundtrips_total Redis round trips by route.
# TYPE example_redis_roundtrips_total counter
example_redis_roundtrips_total{route="/api/v1/users"} 120
example_redis_roundtrips_total{method="GET",route="/api/v1/users/{id}"} 30
example_redis_roundtrips_total_other 5
http_requests_total{route="/api/v1/users"} 99
`
	got := parseRoundTrips(strings.NewReader(text))
	want := map[string]float64{"/api/v1/users": 120, "/api/v1/users/{id}": 30}
	if len(got) != len(want) {
		t.Fatalf("parseRoundTrips = %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("parseRoundTrips[%q] = %v; want %v", k, got[k], v)
		}
	}
	if m := parseRoundTrips(strings.NewReader("http_requests_total 1\n")); m != nil {
		t.Errorf("parseRoundTrips without the counter = %v; want nil", m)
	}
}

func TestRedisPerRoute(t *testing.T) {
	// Round trips are divided by every request of the route, warm-up
	// included (routes holds only the latencies counted after it).
	r := &stepResult{n: 4, warm: 2, routes: map[string][]time.Duration{"list": make([]time.Duration, 1)}, sent: map[string]int{"list": 2, "create": 1, "get": 1}}
	f := r.redisPerRoute()
	if got := f("list"); got != "n/a" {
		t.Errorf("without the counter: list = %q; want n/a", got)
	}
	r.redisRT = map[string]float64{"/api/v1/users": 6, "/api/v1/users/{id}": 2}
	f = r.redisPerRoute()
	for route, want := range map[string]string{"list": "2.00", "create": "2.00", "get": "2.00", "": "2.00", "health": "0.00"} {
		if got := f(route); got != want {
			t.Errorf("redisPerRoute(%q) = %q; want %q", route, got, want)
		}
	}
}
