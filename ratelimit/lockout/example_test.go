package lockout_test

import (
	"context"
	"fmt"

	"github.com/covetgo/covet/ratelimit/lockout"
)

func Example() {
	lock, err := lockout.New(lockout.WithMaxFailures(3))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		until, _ := lock.Fail(ctx, "bob")
		fmt.Println("failure", i, "locked:", !until.IsZero())
	}
	_ = lock.Succeed(ctx, "bob")
	until, _ := lock.Check(ctx, "bob")
	fmt.Println("after success locked:", !until.IsZero())
	// Output:
	// failure 1 locked: false
	// failure 2 locked: false
	// failure 3 locked: true
	// after success locked: false
}
