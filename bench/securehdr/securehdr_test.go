// Package securehdrbench compares securehdr with github.com/unrolled/secure
// configured to send the same headers.
package securehdrbench

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/securehdr"
	"github.com/unrolled/secure"
)

// The policy both middlewares send: securehdr's default.
const policy = "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; img-src 'self' data:; script-src-attr 'none'"

var bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = w.Write([]byte("ok"))
})

func ours(tb testing.TB, csp *securehdr.CSP) http.Handler {
	m, err := securehdr.New(securehdr.Config{CSP: csp})
	if err != nil {
		tb.Fatal(err)
	}
	return m.Handler(bare)
}

func unrolled(csp string) http.Handler {
	return secure.New(secure.Options{
		ContentSecurityPolicy:         csp,
		FrameDeny:                     true,
		ContentTypeNosniff:            true,
		ReferrerPolicy:                "strict-origin-when-cross-origin",
		PermissionsPolicy:             "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
		CrossOriginOpenerPolicy:       "same-origin",
		CrossOriginResourcePolicy:     "same-origin",
		BrowserXssFilter:              true,
		CustomBrowserXssValue:         "0",
		XPermittedCrossDomainPolicies: "none",
		STSSeconds:                    31536000,
		STSIncludeSubdomains:          true,
	}).Handler(bare)
}

var tlsState = &tls.ConnectionState{}

func request() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	r.TLS = tlsState
	return r
}

// run measures h in the shared harness. Besides ns/op it reports
// cpu-ns/op, the process CPU time per request, which load from other
// processes on the machine disturbs far less.
func run(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.ServeHTTP(httptest.NewRecorder(), request())
		}
	})
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// TestSameHeaders proves the comparison is fair: both send the same set.
func TestSameHeaders(t *testing.T) {
	a, b := httptest.NewRecorder(), httptest.NewRecorder()
	ours(t, nil).ServeHTTP(a, request())
	unrolled(policy).ServeHTTP(b, request())
	c := httptest.NewRecorder()
	byHand().ServeHTTP(c, request())
	if len(a.Header()) != len(b.Header()) || len(c.Header()) != len(b.Header()) {
		t.Fatalf("ours %d headers, unrolled %d:\n%v\n%v", len(a.Header()), len(b.Header()), a.Header(), b.Header())
	}
	for k, v := range b.Header() {
		if got := a.Header().Get(k); got != v[0] {
			t.Errorf("%s: ours %q, unrolled %q", k, got, v[0])
		}
	}
}

// byHand writes the same ten headers from slices built once, the least any
// middleware can do: its cost over bare is that of the header map growing
// and being copied when the status is written, which every implementation
// pays.
func byHand() http.Handler {
	ref := httptest.NewRecorder()
	unrolled(policy).ServeHTTP(ref, request())
	keys := make([]string, 0, len(ref.Header()))
	vals := make([][]string, 0, len(ref.Header()))
	for k, v := range ref.Header() {
		if k != "Content-Type" {
			keys, vals = append(keys, k), append(vals, v)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for i, k := range keys {
			h[k] = vals[i]
		}
		bare(w, r)
	})
}

// BenchmarkHeaders sends the ten default headers (CSP, eight others and
// HSTS on an HTTPS request).
func BenchmarkHeaders(b *testing.B) {
	b.Run("impl=bare", func(b *testing.B) { run(b, bare) })
	b.Run("impl=byhand", func(b *testing.B) { run(b, byHand()) })
	b.Run("impl=securehdr", func(b *testing.B) { run(b, ours(b, nil)) })
	b.Run("impl=unrolled", func(b *testing.B) { run(b, unrolled(policy)) })
}

// BenchmarkNonce adds a per-request script nonce to the same policy.
func BenchmarkNonce(b *testing.B) {
	b.Run("impl=securehdr", func(b *testing.B) { run(b, ours(b, securehdr.DefaultCSP().WithNonce())) })
	b.Run("impl=unrolled", func(b *testing.B) {
		run(b, unrolled(strings.Replace(policy, "default-src 'self'", "default-src 'self'; script-src 'self' $NONCE", 1)))
	})
}
