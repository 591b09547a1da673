// Tiny program: jwtauth/password hashing and verifying.
package main

import (
	"fmt"
	"log"

	"github.com/covetgo/covet/jwtauth/password"
)

func main() {
	h, err := password.NewHasher()
	if err != nil {
		log.Fatal(err)
	}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.Verify("correct horse battery staple", enc))
}
