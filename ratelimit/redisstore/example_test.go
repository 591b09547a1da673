package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/ratelimit/redisstore"
)

// A limiter over Redis: every replica of the service shares the limit.
// The example needs a Redis server on localhost:6379.
func Example() {
	ctx := context.Background()
	// ContextTimeoutEnabled lets go-redis itself stop at the store's
	// per-call timeout.
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	// A prefix of its own, so that runs do not share counters.
	prefix := "example:" + rand.Text() + ":"
	store, err := redisstore.New(ctx, client,
		redisstore.WithKeyPrefix(prefix),
		redisstore.WithFailurePolicy(ratelimit.LocalFallback))
	if err != nil {
		panic(err)
	}
	login, err := ratelimit.New(store, ratelimit.PerMinute(2), ratelimit.WithName("login"))
	if err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		d, err := login.Allow(ctx, "192.0.2.10")
		if err != nil {
			panic(err)
		}
		fmt.Println("allowed:", d.Allowed, "remaining:", d.Remaining, "degraded:", d.Degraded)
	}
	// Output:
	// allowed: true remaining: 1 degraded: false
	// allowed: true remaining: 0 degraded: false
	// allowed: false remaining: 0 degraded: false
}

// A global limit leased in batches: 25 decisions cost three Redis calls
// (leases of 10), and the limit still holds across replicas.
func ExampleWithLease() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	store, err := redisstore.New(ctx, client,
		redisstore.WithKeyPrefix("example:"+rand.Text()+":"),
		redisstore.WithLease(10, 500*time.Millisecond))
	if err != nil {
		panic(err)
	}
	api, err := ratelimit.New(store, ratelimit.PerHour(100), ratelimit.WithName("api"))
	if err != nil {
		panic(err)
	}
	allowed := 0
	var d ratelimit.Decision
	for i := 0; i < 25; i++ {
		if d, err = api.Allow(ctx, "192.0.2.10"); err != nil {
			panic(err)
		}
		if d.Allowed {
			allowed++
		}
	}
	fmt.Println("allowed:", allowed, "remaining:", d.Remaining)
	// Output:
	// allowed: 25 remaining: 75
}
