package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/redisstore"
)

// Refresh tokens and revocations shared by every replica of a service,
// in a Redis running with maxmemory-policy noeviction.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	store, err := redisstore.New(ctx, rdb, redisstore.WithKeyPrefix("example:auth:"))
	if err != nil {
		panic(err) // wraps redisstore.ErrInvalidConfig if Redis may evict keys
	}

	key, _ := jwtauth.HS256Key("k1", []byte("example-secret-example-secret-32"))
	ring, _ := jwtauth.NewKeyRing(key)
	auth, err := jwtauth.New[jwtauth.Claims](ring,
		jwtauth.WithRefreshStore(store), jwtauth.WithDenylist(store),
		jwtauth.WithAccessTTL(time.Minute), jwtauth.WithRefreshTTL(time.Hour))
	if err != nil {
		panic(err)
	}

	c := jwtauth.Claims{}
	c.Subject = "user-1"
	first, err := auth.Issue(ctx, c)
	if err != nil {
		panic(err) // matches jwtauth.ErrStoreUnavailable while Redis is down
	}
	load := func(_ context.Context, subject string) (jwtauth.Claims, error) {
		c := jwtauth.Claims{}
		c.Subject = subject
		return c, nil
	}
	second, err := auth.Refresh(ctx, first.RefreshToken, load)
	fmt.Println("rotated:", err == nil)
	_, err = auth.Refresh(ctx, first.RefreshToken, load)
	fmt.Println("reuse detected:", errors.Is(err, jwtauth.ErrRefreshReused))

	// Logout: the access token stops working on every replica.
	claims, _ := auth.Verify(ctx, second.AccessToken)
	_ = auth.Revoke(ctx, claims)
	_, err = auth.Verify(ctx, second.AccessToken)
	fmt.Println("revoked:", errors.Is(err, jwtauth.ErrRevoked))
	// Output:
	// rotated: true
	// reuse detected: true
	// revoked: true
}

// Each replica keeps the denylist in memory, kept fresh over pub/sub:
// checking a token then costs no Redis round trip.
func ExampleWithLocalMirror() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	store, err := redisstore.New(ctx, rdb, redisstore.WithKeyPrefix("example:mirror:"), redisstore.WithLocalMirror())
	if err != nil {
		panic(err)
	}
	defer store.Close() // stops the subscription

	now := time.Now()
	_ = store.DenyToken(ctx, "token-id", now.Add(time.Minute))
	// The store that revokes refuses at once; the others once the message
	// arrives. Until a mirror has subscribed and reloaded, it asks Redis.
	revoked, err := store.Revoked(ctx, "token-id", "user-1", now)
	fmt.Println("revoked:", revoked, err)
	// Output:
	// revoked: true <nil>
}
