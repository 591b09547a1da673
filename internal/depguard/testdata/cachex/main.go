// Tiny program: cachex with its in-process tier only.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/covetgo/covet/cachex"
)

func main() {
	c, err := cachex.New[string](cachex.WithLocal(1 << 20))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", time.Minute); err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Get(ctx, "k"))
}
