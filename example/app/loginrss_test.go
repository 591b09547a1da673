package app

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/jwtauth/password"
	"github.com/covetgo/covet/ratelimit/lockout"
)

// TestLoginRSS measures the process's peak resident memory while 200
// clients log in at once over HTTP, each from its own address (so that no
// rate limit refuses them). It is a measurement, not a check: it runs only
// with COVET_MEASURE_RSS=1, alone in its process, without -race:
//
//	COVET_MEASURE_RSS=1 go test -run TestLoginRSS -count=1 -v ./example/app/
//	GOMEMLIMIT=256MiB COVET_MEASURE_RSS=1 go test -run TestLoginRSS -count=1 -v ./example/app/
//	COVET_MEASURE_RSS=unbounded go test -run TestLoginRSS -count=1 -v ./example/app/
//
// The last form replaces the service's hasher with one whose memory budget
// never binds, which is how logins ran before the budget existed.
func TestLoginRSS(t *testing.T) {
	mode := os.Getenv("COVET_MEASURE_RSS")
	if mode == "" {
		t.Skip("a measurement: set COVET_MEASURE_RSS=1 (or =unbounded) to run it")
	}
	const clients = 200
	env := baseEnv(t)
	env["SEED_USERS"] = "0"
	env["MAX_IN_FLIGHT"] = "1000"
	s := startServer(t, env)
	if mode == "unbounded" {
		h, err := password.NewHasher(password.WithMemoryBudget(1 << 40))
		if err != nil {
			t.Fatal(err)
		}
		lock, err := lockout.New()
		if err != nil {
			t.Fatal(err)
		}
		if s.app.login, err = password.NewLogin(h, s.app.lookupLogin, lock); err != nil {
			t.Fatal(err)
		}
	}
	before := vmHWM(t)
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, s.admin, s.adminPW)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxConnsPerHost: clients, MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range clients {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", s.base+"/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			// TRUSTED_PROXIES is 127.0.0.1/32: each client is its own address.
			req.Header.Set("X-Forwarded-For", "10.1."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250+1))
			<-start
			code := 0
			if res, err := client.Do(req); err == nil {
				code = res.StatusCode
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(res.Body)
				res.Body.Close()
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	after := vmHWM(t)
	t.Logf("%d concurrent logins over HTTP (%s, GOMEMLIMIT %s): statuses %v in %v; peak RSS %d MiB before the logins, %d MiB after",
		clients, mode, memLimit(), codes, took.Round(time.Millisecond), before>>20, after>>20)
}

// vmHWM is the process's peak resident set size in bytes (Linux).
func vmHWM(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmHWM in /proc/self/status")
	return 0
}

func memLimit() string {
	if l := debug.SetMemoryLimit(-1); l != 1<<63-1 {
		return strconv.FormatInt(l>>20, 10) + " MiB"
	}
	return "unset"
}
