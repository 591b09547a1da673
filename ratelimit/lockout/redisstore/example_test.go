package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/ratelimit/lockout"
	"github.com/covetgo/covet/ratelimit/lockout/redisstore"
)

// A lockout shared by every replica through Redis. The example needs a
// Redis server on localhost:6379 with maxmemory-policy noeviction.
func Example() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	// A prefix of its own, so that runs do not share accounts.
	store, err := redisstore.New(ctx, client, redisstore.WithKeyPrefix("example:"+rand.Text()+":"))
	if err != nil {
		panic(err)
	}
	lock, err := lockout.New(lockout.WithStore(store), lockout.WithMaxFailures(2))
	if err != nil {
		panic(err)
	}
	for i := 1; i <= 2; i++ {
		until, err := lock.Fail(ctx, "bob")
		if err != nil {
			panic(err)
		}
		fmt.Println("failure", i, "locked:", !until.IsZero())
	}
	if err := lock.Succeed(ctx, "bob"); err != nil {
		panic(err)
	}
	until, _ := lock.Check(ctx, "bob")
	fmt.Println("after success locked:", !until.IsZero())
	// Output:
	// failure 1 locked: false
	// failure 2 locked: true
	// after success locked: false
}
