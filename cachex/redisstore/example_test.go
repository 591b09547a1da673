package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/cachex"
	"github.com/covetgo/covet/cachex/redisstore"
)

type Product struct {
	ID   int
	Name string
}

// Example shares values between replicas through Redis and keeps hot ones
// in process, dropped on every replica when one of them changes them. It
// runs against the Redis at REDIS_URL (default redis://127.0.0.1:6379/0).
func Example() {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		panic(err)
	}
	opt.ContextTimeoutEnabled = true // calls stop at the tier's deadline
	rdb := redis.NewClient(opt)
	defer rdb.Close()

	tier, err := redisstore.New(rdb, redisstore.WithKeyPrefix("example:shop:products:"))
	if err != nil {
		panic(err)
	}
	products, err := cachex.New[Product](
		cachex.WithShared(tier),
		cachex.WithLocalTTL(30*time.Second),
		cachex.WithStaleWhileRevalidate(time.Minute),
	)
	if err != nil {
		panic(err)
	}
	defer products.Close()

	ctx := context.Background()
	p, err := products.GetOrLoad(ctx, "product:1", 5*time.Minute, func(ctx context.Context) (Product, error) {
		return Product{ID: 1, Name: "lamp"}, nil // a database query in real code
	}, cachex.Tags("catalogue"))
	fmt.Println(p.Name, err)
	// Every replica, every tier: the next read loads again.
	fmt.Println(products.InvalidateTag(ctx, "catalogue"))
	_, err = products.Get(ctx, "product:1")
	fmt.Println(err)
	// Output:
	// lamp <nil>
	// <nil>
	// cachex: not found
}
