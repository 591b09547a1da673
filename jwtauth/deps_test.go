package jwtauth

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPayForWhatYouImport keeps heavy dependencies out of the core package:
// a program using jwtauth without the Redis store must not link go-redis,
// nor one issuing tokens link the password hashing.
func TestPayForWhatYouImport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/golang-jwt/jwt/v5") {
		t.Fatalf("go list -deps . = %q; want golang-jwt among them", out)
	}
	for _, dep := range deps {
		for _, banned := range []string{"github.com/redis/", "golang.org/x/crypto", "github.com/covetgo/covet/jwtauth/password", "github.com/covetgo/covet/ratelimit"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("jwtauth depends on %s", dep)
			}
		}
	}
}
