package securehdr_test

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/covetgo/covet/securehdr"
)

func ExampleNew() {
	hdr, err := securehdr.New(securehdr.Config{
		Override:       map[string]string{"X-Frame-Options": "SAMEORIGIN"},
		Omit:           []string{"X-XSS-Protection"},
		TrustedProxies: []string{"10.0.0.0/8"},
	})
	if err != nil {
		panic(err)
	}
	h := hdr.Handler(http.NotFoundHandler())

	r := httptest.NewRequest("GET", "http://example.com/missing", nil)
	r.RemoteAddr = "10.0.0.5:1234"
	r.Header.Set("X-Forwarded-Proto", "https")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	fmt.Println(w.Code)
	fmt.Println(w.Header().Get("X-Frame-Options"))
	fmt.Println(w.Header().Get("Strict-Transport-Security"))
	fmt.Println(w.Header().Values("X-XSS-Protection"))
	// Output:
	// 404
	// SAMEORIGIN
	// max-age=31536000; includeSubDomains
	// []
}

func ExampleCSP() {
	policy := securehdr.DefaultCSP().
		Set("connect-src", securehdr.Self, "https://api.example.com").
		WithNonce().
		WithStrictDynamic()
	fmt.Println(policy)

	// The zero value is an empty policy.
	err := new(securehdr.CSP).Set("script-src", "self").Validate()
	fmt.Println(errors.Is(err, securehdr.ErrInvalidCSP), err)
	// Output:
	// default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; img-src 'self' data:; script-src-attr 'none'; connect-src 'self' https://api.example.com; script-src 'self' 'nonce-{nonce}' 'strict-dynamic'
	// true securehdr: invalid configuration: content security policy: script-src: keyword "self" must be single-quoted
}

func ExampleNonceFromContext() {
	hdr, err := securehdr.New(securehdr.Config{CSP: securehdr.DefaultCSP().WithNonce()})
	if err != nil {
		panic(err)
	}
	page := template.Must(template.New("page").Parse(`<script nonce="{{.}}">start()</script>`))
	h := hdr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = page.Execute(w, securehdr.NonceFromContext(r.Context()))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))

	// The page's nonce is the one in this response's policy.
	body := w.Body.String()
	nonce := body[len(`<script nonce="`) : strings.IndexByte(body, '>')-1]
	fmt.Println(len(nonce), strings.Contains(w.Header().Get("Content-Security-Policy"), "'nonce-"+nonce+"'"))
	// Output: 22 true
}

// A public listener behind a load balancer: the host is checked first,
// then plain HTTP is redirected, except for the probes.
func ExampleConfig_redirect() {
	hdr, err := securehdr.New(securehdr.Config{
		TrustedProxies: []string{"10.0.0.0/8"},
		AllowedHosts:   []string{"example.com", "*.example.com"},
		RedirectHTTPS:  true,
		ExemptPaths:    []string{"/healthz"},
	})
	if err != nil {
		panic(err)
	}
	h := hdr.Handler(http.NotFoundHandler())
	for _, target := range []string{
		"http://WWW.Example.com.:80/orders?id=7",
		"http://attacker.test/orders",
		"http://10.1.2.3/healthz",
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", target, nil))
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("Location"))))
	}
	// Output:
	// 308 https://www.example.com/orders?id=7
	// 400
	// 404
}

func ExampleNewCORS() {
	_, err := securehdr.NewCORS(securehdr.CORSConfig{
		AllowedOrigins:   []string{"https://*.example.com"},
		AllowCredentials: true,
	})
	fmt.Println(errors.Is(err, securehdr.ErrInsecureCORS))

	c, err := securehdr.NewCORS(securehdr.CORSConfig{
		AllowedOrigins:   []string{"https://app.example.com"},
		AllowedMethods:   []string{"GET", "PUT"},
		AllowCredentials: true,
	})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("OPTIONS", "/api/items/1", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "PUT")
	w := httptest.NewRecorder()
	c.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Access-Control-Allow-Origin"), w.Header().Get("Access-Control-Max-Age"))
	// Output:
	// true
	// 204 https://app.example.com 7200
}

func ExampleNoStore() {
	h := securehdr.NoStore(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(os.Stdout, "account page")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/account", nil))
	fmt.Println(w.Header().Get("Cache-Control"))
	// Output:
	// account page
	// no-store
}
