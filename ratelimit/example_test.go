package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"

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

func ExampleNewRedisStore() {
	// ContextTimeoutEnabled lets go-redis itself stop at the store's
	// per-call timeout.
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	store, err := ratelimit.NewRedisStore(client,
		ratelimit.WithFailurePolicy(ratelimit.LocalFallback),
		ratelimit.WithLogger(slog.Default()))
	if err != nil {
		panic(err)
	}
	api, err := ratelimit.New(store, ratelimit.PerMinute(1000), ratelimit.WithName("api"))
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
	_ = http.ListenAndServe(":8080", r)
}
