package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/ratelimit"
)

func Example() {
	store, err := ratelimit.NewMemoryStore()
	if err != nil {
		panic(err)
	}
	login, err := ratelimit.New(store, ratelimit.PerMinute(2), ratelimit.WithName("login"))
	if err != nil {
		panic(err)
	}
	h := login.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "welcome")
	}))
	for i := 0; i < 3; i++ {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.RemoteAddr = "192.0.2.10:51234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("RateLimit-Policy"), w.Header().Get("Retry-After") != "")
	}
	// Output:
	// 200 "login";q=2;w=60 false
	// 200 "login";q=2;w=60 false
	// 429 "login";q=2;w=60 true
}

func ExampleParseRate() {
	for _, s := range []string{"5/minute", "100/10s", "1000/hour;burst=20", "5/fortnight"} {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%d per %v, burst %d\n", r.Limit, r.Period, r.Burst)
	}
	// Output:
	// 5 per 1m0s, burst 0
	// 100 per 10s, burst 0
	// 1000 per 1h0m0s, burst 20
	// ratelimit: invalid rate: "5/fortnight": period "fortnight" is not a duration or unit (e.g. minute, 10s, 1h30m)
}

func ExampleKeyBy() {
	userFromContext := func(ctx context.Context) string { return "alice" }
	key := ratelimit.KeyBy(ratelimit.KeyByUser(userFromContext), ratelimit.KeyByRoute)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /reports/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(key(r))
	})
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/reports/7", nil))
	// Output:
	// 5:alice|17:GET /reports/{id}
}

// Stacked limiters each add their policy to the RateLimit fields, so a
// client sees every limit that applied, not only the last one.
func Example_stacked() {
	store, err := ratelimit.NewMemoryStore()
	if err != nil {
		panic(err)
	}
	global, err := ratelimit.New(store, ratelimit.PerMinute(100), ratelimit.WithName("global"))
	if err != nil {
		panic(err)
	}
	login, err := ratelimit.New(store, ratelimit.PerMinute(5), ratelimit.WithName("login"))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /login", login.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	h := global.Handler(mux)

	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.RemoteAddr = "192.0.2.10:51234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Header().Values("RateLimit-Policy"))
	fmt.Println(w.Header().Values("RateLimit"))
	// Output:
	// ["global";q=100;w=60 "login";q=5;w=60]
	// ["global";r=99;t=1 "login";r=4;t=12]
}

// Behind a proxy, key by the client chi's trusted-proxy middleware
// resolved; the default key is the direct peer, which would be the proxy.
func ExampleKeyByAddr() {
	store, err := ratelimit.NewMemoryStore()
	if err != nil {
		panic(err)
	}
	api, err := ratelimit.New(store, ratelimit.PerMinute(1000), ratelimit.WithName("api"),
		ratelimit.WithKeyFunc(ratelimit.KeyByAddr(clientip.Addr)))
	if err != nil {
		panic(err)
	}
	ips, err := clientip.New([]string{"10.0.0.0/8"}) // the proxies in front of the service
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Use(ips.Handler)
	r.Use(api.Handler)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {})

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.0.0.2:40000"
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("RateLimit"))
	// Output:
	// 200 "api";r=999;t=1
}
