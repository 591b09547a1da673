package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/covetgo/covet/internal/testenv"
)

// faultBound is the p99 bound of every answer under a fault: the longest
// budget on the request path (the database statement and connect budget the
// pool is given below, 2s) plus a margin for a loaded two-core machine
// running the race detector.
const faultBound = 2*time.Second + 1500*time.Millisecond

// TestFaults runs the service on the real PostgreSQL and Redis with a
// toxiproxy between it and each of them, injects each fault under a mix of
// logins, refreshes, lists, creates, exports and probes, and checks what the
// README promises: no 500, bounded latency, /ready following the fault and
// recovery without a restart.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault suite skipped in -short mode")
	}
	pg := testenv.NewPostgres(t)
	rd := testenv.NewRedis(t)
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := func(name, rawURL string) (*toxiproxy.Proxy, string) {
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		p := toxiproxy.NewProxy(api, name, "127.0.0.1:0", u.Host)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		u.Host = p.Listen
		return p, u.String()
	}
	pgProxy, pgURL := proxy("postgres", pg.URL)
	rdProxy, rdURL := proxy("redis", rd.URL)

	env := baseEnv(t)
	env["DATABASE_URL"] = pgURL
	env["REDIS_URL"] = rdURL
	env["APP_NAME"] = strings.TrimSuffix(rd.Prefix, ":")
	env["LOGIN_RATE_LIMIT"] = "100000/minute"
	env["DATABASE_POOL_SIZE"] = "6"
	s := startServer(t, env)

	tok := faultLogin(t, s)
	var created sync.Map // username -> acknowledged with 201
	var seq atomic.Int64
	var table []string

	faults := []struct {
		name  string
		start func(p *toxiproxy.Proxy)
		stop  func(p *toxiproxy.Proxy)
	}{
		{"refused", func(p *toxiproxy.Proxy) { p.Stop() }, func(p *toxiproxy.Proxy) { _ = p.Start() }},
		{"reset", func(p *toxiproxy.Proxy) { addToxic(t, p, "reset_peer", `{"timeout":0}`) }, resetToxics},
		{"latency 2s", func(p *toxiproxy.Proxy) { addToxic(t, p, "latency", `{"latency":2000}`) }, resetToxics},
		{"black hole", func(p *toxiproxy.Proxy) { addToxic(t, p, "timeout", `{"timeout":0}`) }, resetToxics},
		{"restart", func(p *toxiproxy.Proxy) { p.Stop(); _ = p.Start() }, func(*toxiproxy.Proxy) {}},
	}
	deps := []struct {
		name, check string
		p           *toxiproxy.Proxy
	}{{"redis", "redis", rdProxy}, {"postgres", "database", pgProxy}}
	for _, d := range deps {
		for _, f := range faults {
			t.Run(d.name+"/"+f.name, func(t *testing.T) {
				begin := time.Now()
				f.start(d.p)
				load := startFaultLoad(s, tok, &created, &seq)
				if f.name != "restart" && f.name != "latency 2s" {
					waitReady(t, s, d.check, 503, 2*time.Second+faultBound)
				}
				time.Sleep(time.Second)
				f.stop(d.p)
				faultLasted := time.Since(begin)
				waitReady(t, s, "", 200, 5*time.Second+faultBound)
				st := load.stop()
				for code := range st.codes {
					if code >= 500 && code != 503 {
						t.Errorf("status %d seen under %s %s; only 503 is documented", code, d.name, f.name)
					}
				}
				if st.missingRetry > 0 {
					t.Errorf("%d 503s without Retry-After", st.missingRetry)
				}
				bound := faultBound
				if d.name == "postgres" && f.name == "black hole" {
					// No deadline of the service's own covers a PostgreSQL
					// that accepts and never answers: statement_timeout is
					// enforced by the server, so requests wait until the
					// fault ends (README, outage section). Bounded by the
					// fault's length here, so a hang would still fail.
					bound = faultLasted + faultBound
				}
				if p99 := st.p99(); p99 > bound {
					t.Errorf("p99 = %v; want within %v", p99, bound)
				}
				if st.reused > 0 {
					t.Errorf("a refresh token was accepted twice (%d times)", st.reused)
				}
				table = append(table, fmt.Sprintf("| %s | %s | %s | %v |", d.name, f.name, st.codeList(), st.p99().Round(time.Millisecond)))
			})
			tok = faultLogin(t, s)
		}
	}
	// Every acknowledged create is in the database.
	created.Range(func(k, _ any) bool {
		var n int
		if err := s.app.db.Get(&n, s.app.db.Rebind("SELECT count(*) FROM users WHERE username = ?"), k); err != nil || n != 1 {
			t.Errorf("user %s acknowledged with 201: count %d, %v", k, n, err)
		}
		return true
	})
	t.Logf("fault table (p99 bound %v):\n| dependency | fault | statuses | p99 |\n|---|---|---|---|\n%s", faultBound, strings.Join(table, "\n"))
}

func addToxic(t *testing.T, p *toxiproxy.Proxy, typ, attrs string) {
	t.Helper()
	for _, stream := range []string{"upstream", "downstream"} {
		body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"toxicity":1,"attributes":%s}`, typ+"_"+stream, typ, stream, attrs)
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
			t.Fatalf("toxic %s: %v", typ, err)
		}
	}
}

func resetToxics(p *toxiproxy.Proxy) { p.Toxics.ResetToxics(context.Background()) }

// waitReady polls /ready (or /ready/check) until it answers status.
func waitReady(t *testing.T, s *server, check string, status int, within time.Duration) {
	t.Helper()
	path := "/ready"
	if check != "" {
		path += "/" + check
	}
	deadline := time.Now().Add(within)
	for {
		c := &http.Client{Timeout: time.Second}
		res, err := c.Get(s.base + path)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within %v", path, status, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type tokens struct{ access, refresh string }

func faultLogin(t *testing.T, s *server) tokens {
	t.Helper()
	var last int
	for range 50 {
		code, _, body, _ := faultDo(s, "POST", "/auth/login", "", map[string]string{"username": s.admin, "password": s.adminPW})
		if code == 200 {
			var v struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			return tokens{v.AccessToken, v.RefreshToken}
		}
		last = code
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("login after the fault = %d", last)
	return tokens{}
}

var faultClient = &http.Client{Timeout: 15 * time.Second}

func faultDo(s *server, method, path, token string, body any) (int, http.Header, []byte, time.Duration) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := faultClient.Do(req)
	if err != nil {
		return 0, nil, nil, time.Since(start)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 && res.StatusCode != 503 && testing.Verbose() {
		fmt.Printf("500 %s %s: %s\n", method, path, data)
	}
	return res.StatusCode, res.Header, data, time.Since(start)
}

type faultStats struct {
	mu           sync.Mutex
	codes        map[int]int
	lat          []time.Duration
	missingRetry int
	reused       int
}

func (st *faultStats) p99() time.Duration {
	if len(st.lat) == 0 {
		return 0
	}
	slices.Sort(st.lat)
	return st.lat[(len(st.lat)*99)/100]
}

func (st *faultStats) codeList() string {
	var keys []int
	for k := range st.codes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%d×%d", k, st.codes[k]))
	}
	return strings.Join(out, " ")
}

type faultLoad struct {
	done chan struct{}
	wg   sync.WaitGroup
	st   *faultStats
}

func (l *faultLoad) stop() *faultStats {
	close(l.done)
	l.wg.Wait()
	return l.st
}

// startFaultLoad runs four workers, each cycling through the mix.
func startFaultLoad(s *server, tok tokens, created *sync.Map, seq *atomic.Int64) *faultLoad {
	l := &faultLoad{done: make(chan struct{}), st: &faultStats{codes: map[int]int{}}}
	var refreshMu sync.Mutex
	refresh := tok.refresh
	used := map[string]bool{}
	record := func(code int, h http.Header, d time.Duration) {
		l.st.mu.Lock()
		defer l.st.mu.Unlock()
		l.st.codes[code]++
		l.st.lat = append(l.st.lat, d)
		if code == 503 && h.Get("Retry-After") == "" {
			l.st.missingRetry++
		}
	}
	for w := range 4 {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.done:
					return
				default:
				}
				switch (i + w) % 6 {
				case 0:
					c, h, _, d := faultDo(s, "POST", "/auth/login", "", map[string]string{"username": s.admin, "password": s.adminPW})
					record(c, h, d)
				case 1:
					refreshMu.Lock()
					rt := refresh
					refreshMu.Unlock()
					c, h, body, d := faultDo(s, "POST", "/auth/refresh", "", map[string]string{"refresh_token": rt})
					record(c, h, d)
					if c == 200 {
						var v struct {
							RefreshToken string `json:"refresh_token"`
						}
						_ = json.Unmarshal(body, &v)
						refreshMu.Lock()
						if used[rt] {
							l.st.mu.Lock()
							l.st.reused++
							l.st.mu.Unlock()
						}
						used[rt] = true
						if v.RefreshToken != "" {
							refresh = v.RefreshToken
						}
						refreshMu.Unlock()
					}
				case 2:
					c, h, _, d := faultDo(s, "GET", "/api/v1/users?limit=20", tok.access, nil)
					record(c, h, d)
				case 3:
					name := fmt.Sprintf("fault_%d", seq.Add(1))
					c, h, _, d := faultDo(s, "POST", "/api/v1/users", tok.access, map[string]string{"username": name, "email": name + "@example.com", "password": "a long enough password 1"})
					record(c, h, d)
					if c == 201 {
						created.Store(name, true)
					}
				case 4:
					c, h, _, d := faultDo(s, "GET", "/export/users.csv", tok.access, nil)
					record(c, h, d)
				case 5:
					c, h, _, d := faultDo(s, "GET", "/ready", "", nil)
					if c != 200 && c != 503 {
						record(c, h, d)
					} else {
						record(200, h, d) // probes: 503 is their job
					}
				}
			}
		})
	}
	return l
}
