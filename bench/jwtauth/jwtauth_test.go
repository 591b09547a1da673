package jwtauthbench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/covetgo/covet/jwtauth"
	chijwtauth "github.com/go-chi/jwtauth/v5"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// bare is the handler every variant wraps.
var bare = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
})

// newCovet returns covet's middleware around next and a token it accepts;
// the same token is given to go-chi/jwtauth so both verify identical bytes.
func newCovet(tb testing.TB, next http.Handler, opts ...jwtauth.Option) (http.Handler, string) {
	tb.Helper()
	key, err := jwtauth.HS256Key("k1", secret)
	if err != nil {
		tb.Fatal(err)
	}
	ring, err := jwtauth.NewKeyRing(key)
	if err != nil {
		tb.Fatal(err)
	}
	opts = append([]jwtauth.Option{jwtauth.WithIssuer("covet"), jwtauth.WithAudience("api")}, opts...)
	auth, err := jwtauth.New[jwtauth.Claims](ring, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	c := jwtauth.Claims{Username: "ada", Roles: []string{"admin", "user"}}
	c.Subject = "user-42"
	set, err := auth.Issue(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	return auth.Handler(next), set.AccessToken
}

func newChi(next http.Handler) http.Handler {
	ja := chijwtauth.New("HS256", secret, nil, jwxjwt.WithIssuer("covet"), jwxjwt.WithAudience("api"), jwxjwt.WithAcceptableSkew(30*time.Second))
	return chijwtauth.Verifier(ja)(chijwtauth.Authenticator(ja)(next))
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// run is the shared harness: request and recorder built in the loop. Next to
// ns/op it reports cpu-ns/op, the process's CPU time per request (GC
// included), which waiting for a core on a busy machine does not inflate.
func run(b *testing.B, h http.Handler, token string) {
	b.ReportAllocs()
	start := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

func BenchmarkHS256(b *testing.B) {
	covet, token := newCovet(b, bare)
	store, err := jwtauth.NewMemoryStore()
	if err != nil {
		b.Fatal(err)
	}
	denied, dtoken := newCovet(b, bare, jwtauth.WithDenylist(store))
	b.Run("bare", func(b *testing.B) { run(b, bare, token) })
	b.Run("covet", func(b *testing.B) { run(b, covet, token) })
	b.Run("covet-denylist-memory", func(b *testing.B) { run(b, denied, dtoken) })
	b.Run("go-chi-jwtauth", func(b *testing.B) { run(b, newChi(bare), token) })
}

// TestSameToken checks that both middlewares accept the benchmark's token, so
// the comparison measures equal work.
func TestSameToken(t *testing.T) {
	covet, token := newCovet(t, bare)
	for name, h := range map[string]http.Handler{"covet": covet, "go-chi-jwtauth": newChi(bare)} {
		r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(context.Background())
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Errorf("%s: status %d; want 200", name, w.Code)
		}
	}
}
