// Tiny program: ratelimit/lockout in memory.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/covetgo/covet/ratelimit/lockout"
)

func main() {
	l, err := lockout.New()
	if err != nil {
		log.Fatal(err)
	}
	until, err := l.Fail(context.Background(), "alice")
	fmt.Println(until, err)
}
