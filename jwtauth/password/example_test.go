package password_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/covetgo/covet/jwtauth/password"
)

func ExamplePolicy_Check() {
	policy, _ := password.NewPolicy()
	for _, pw := range []string{"hunter2", "password1234", "correct horse battery staple"} {
		fmt.Printf("%q: %v\n", pw, policy.Check(pw, "ada"))
	}
	// Output:
	// "hunter2": password: rejected by policy: password: too short (minimum 12 characters)
	// "password1234": password: rejected by policy: password: too common
	// "correct horse battery staple": <nil>
}

func ExampleLogin_Authenticate() {
	hasher, _ := password.NewHasher()
	stored, _ := hasher.Hash("correct horse battery staple")

	type user struct{ ID string }
	lookup := func(_ context.Context, account string) (user, string, error) {
		if account != "ada@example.com" {
			return user{}, "", password.ErrUnknownAccount
		}
		return user{ID: "user-1"}, stored, nil
	}
	// Pass a lockout (such as a rate limiter's) instead of nil in production.
	login, _ := password.NewLogin(hasher, lookup, nil)
	ctx := context.Background()

	u, newHash, err := login.Authenticate(ctx, "ada@example.com", "correct horse battery staple")
	fmt.Println(u.ID, newHash == "", err)
	_, _, err = login.Authenticate(ctx, "bob@example.com", "guess")
	fmt.Println(errors.Is(err, password.ErrInvalidCredentials))
	// Output:
	// user-1 true <nil>
	// true
}
