package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/testenv"
)

// The multi-replica tests run three replicas of the service, in process, on
// one PostgreSQL database and one Redis, behind a load balancer written for
// the test (balancer). Stopping a replica cancels the context given to
// App.Serve, which is what SIGTERM does in main (signal.NotifyContext): the
// same drain and graceful shutdown run, only the signal delivery is skipped.

// scaleDrainDelay is the replicas' DRAIN_DELAY: how long a stopping replica
// keeps serving after its readiness fails. The balancer polls readiness far
// more often than that, as a real one is configured to.
const scaleDrainDelay = 2 * time.Second

// readyPollEvery is the balancer's active health-check period.
const readyPollEvery = 20 * time.Millisecond

func TestScaleOutSingleRedis(t *testing.T) {
	rd := testenv.NewRedis(t)
	// Every key and channel the replicas use starts with APP_NAME, so the
	// test's prefix keeps it apart and its cleanup removes everything.
	runScaleOut(t, rd.URL, strings.TrimSuffix(rd.Prefix, ":"))
}

func TestScaleOutRedisCluster(t *testing.T) {
	c := testenv.RedisCluster(t)
	addrs := c.Options().Addrs
	u := "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
	runScaleOut(t, u, "covet-scale-"+testenv.RandomID(4))
}

func runScaleOut(t *testing.T, redisURL, appName string) {
	if testing.Short() {
		t.Skip("starts three replicas; skipped with -short")
	}
	env := map[string]string{
		"APP_NAME":              appName,
		"APP_VERSION":           "1.2.3",
		"SECRET_KEY":            "scale-out-test-key-" + testenv.RandomID(16),
		"DATABASE_URL":          testenv.PostgresDatabase(t),
		"DATABASE_POOL_SIZE":    "3",
		"DATABASE_MAX_OVERFLOW": "0",
		"REDIS_URL":             redisURL,
		"ADMIN_USERNAME":        "admin",
		"ADMIN_PASSWORD":        "correct horse battery staple",
		"SEED_USERS":            "20",
		"TRUSTED_PROXIES":       "127.0.0.1/32",
		// Per hour, so that no token comes back while a loaded machine
		// runs the test.
		"LOGIN_RATE_LIMIT": "6/hour",
		"RATE_LIMIT":       "1000000/minute",
		"DRAIN_DELAY":      scaleDrainDelay.String(),
		// A loaded test machine may take longer than the default 50ms to
		// answer; past it a replica would decide a limit on its own.
		"REDIS_TIMEOUT": "3s",
	}
	env["DATA_DIR"] = t.TempDir()
	audit := newKeyAudit(t, appName)
	lb := newBalancer(t)
	var reps []*replica
	for i := 0; i < 3; i++ {
		// One after another: the first creates the schema and seeds.
		r := startReplica(t, env, "127.0.0.1:0", audit)
		reps = append(reps, r)
		lb.add(r.addr)
	}
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, r := range reps {
			wg.Add(1)
			go func() { defer wg.Done(); r.stop(t) }()
		}
		wg.Wait()
	})
	lb.waitReady(t, 0, 1, 2)

	admin := lb.login(t, "198.51.100.1", "admin", env["ADMIN_PASSWORD"])

	t.Run("LoginLimitIsGlobal", func(t *testing.T) {
		const ip = "203.0.113.10"
		seen := map[int]bool{}
		for i := 1; i <= 6; i++ {
			r := lb.send(t, "POST", "/auth/login", "", ip, map[string]string{"username": fmt.Sprintf("nobody_%d", i), "password": "wrong password here"})
			want(t, fmt.Sprintf("login attempt %d (replica %d)", i, r.replica), r.resp, 401)
			seen[r.replica] = true
		}
		if len(seen) != 3 {
			t.Fatalf("six attempts reached replicas %v; want all three", seen)
		}
		for i := range reps {
			r := lb.sendTo(t, i, "POST", "/auth/login", "", ip, map[string]string{"username": "admin", "password": env["ADMIN_PASSWORD"]})
			want(t, fmt.Sprintf("seventh login, on replica %d", i), r.resp, 429)
			if r.header.Get("Retry-After") == "" {
				t.Errorf("replica %d: 429 without Retry-After", i)
			}
		}
	})

	t.Run("LockoutHoldsOnEveryReplica", func(t *testing.T) {
		pw := "locked out passphrase 42"
		r := lb.send(t, "POST", "/api/v1/users", admin.AccessToken, "", map[string]string{"username": "locky", "email": "locky@example.org", "password": pw})
		want(t, "create locky", r.resp, 201)
		for i := 1; i <= 5; i++ {
			r := lb.send(t, "POST", "/auth/login", "", fmt.Sprintf("192.0.2.%d", i), map[string]string{"username": "locky", "password": "not the password"})
			want(t, fmt.Sprintf("wrong password %d (replica %d)", i, r.replica), r.resp, 401)
		}
		for i := range reps {
			r := lb.sendTo(t, i, "POST", "/auth/login", "", fmt.Sprintf("192.0.2.%d", 100+i), map[string]string{"username": "locky", "password": pw})
			want(t, fmt.Sprintf("right password on replica %d while locked", i), r.resp, 429)
		}
	})

	t.Run("RefreshReuseRevokesFamilyEverywhere", func(t *testing.T) {
		r := lb.sendTo(t, 0, "POST", "/auth/login", "", "198.51.100.2", map[string]string{"username": "admin", "password": env["ADMIN_PASSWORD"]})
		want(t, "login on replica 0", r.resp, 200)
		var first tokenSet
		r.json(t, &first)
		r = lb.sendTo(t, 1, "POST", "/auth/refresh", "", "", map[string]string{"refresh_token": first.RefreshToken})
		want(t, "rotate on replica 1", r.resp, 200)
		var second tokenSet
		r.json(t, &second)
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatalf("refresh did not rotate: %s", r.body)
		}
		r = lb.sendTo(t, 2, "POST", "/auth/refresh", "", "", map[string]string{"refresh_token": first.RefreshToken})
		want(t, "replay of the spent token on replica 2", r.resp, 401)
		for i := range reps {
			r = lb.sendTo(t, i, "POST", "/auth/refresh", "", "", map[string]string{"refresh_token": second.RefreshToken})
			want(t, fmt.Sprintf("rotated token of the revoked family on replica %d", i), r.resp, 401)
		}
	})

	t.Run("LogoutRevokesOnEveryReplica", func(t *testing.T) {
		r := lb.sendTo(t, 0, "POST", "/auth/login", "", "198.51.100.3", map[string]string{"username": "admin", "password": env["ADMIN_PASSWORD"]})
		want(t, "login on replica 0", r.resp, 200)
		var set tokenSet
		r.json(t, &set)
		// Every replica has verified (and cached) the token.
		for i := range reps {
			want(t, fmt.Sprintf("token on replica %d", i), lb.sendTo(t, i, "GET", "/api/v1/users/1", set.AccessToken, "", nil).resp, 200)
		}
		want(t, "logout on replica 0", lb.sendTo(t, 0, "POST", "/auth/logout", set.AccessToken, "", map[string]string{"refresh_token": set.RefreshToken}).resp, 204)
		done := time.Now()
		// Each replica checks tokens against its own copy of the denylist,
		// which the revocation's pub/sub message updates (100 ms promised).
		for _, i := range []int{1, 2} {
			wait := untilRevoked(t, lb, i, set.AccessToken, done)
			t.Logf("revocation visible on replica %d %v after logout answered", i, wait.Round(time.Microsecond))
		}
	})

	t.Run("RevocationWindow", func(t *testing.T) {
		// Every replica keeps the denylist in memory: three subscribers.
		if n := denylistSubscribers(t, redisURL, appName+":auth:denied"); n != 3 {
			t.Fatalf("%d replicas subscribed to the denylist channel; want 3", n)
		}
		const revocations = 200
		var lat []time.Duration
		for k := range revocations {
			from := k % len(reps)
			a := reps[from].app
			set, err := a.auth.Issue(context.Background(), a.claimsFor(loginUser{ID: 1, Username: "admin", Admin: true}))
			if err != nil {
				t.Fatal(err)
			}
			for i := range reps {
				want(t, fmt.Sprintf("token %d on replica %d", k, i), lb.sendTo(t, i, "GET", "/api/v1/users/1", set.AccessToken, "", nil).resp, 200)
			}
			want(t, fmt.Sprintf("logout %d on replica %d", k, from), lb.sendTo(t, from, "POST", "/auth/logout", set.AccessToken, "", nil).resp, 204)
			done := time.Now()
			for i := range reps {
				if i != from {
					lat = append(lat, untilRevoked(t, lb, i, set.AccessToken, done))
				}
			}
		}
		slices.Sort(lat)
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		t.Logf("%d logouts, each seen by the two other replicas: p50 %v, p99 %v, max %v after logout answered", revocations, p50, p99, lat[len(lat)-1])
		if p99 > 100*time.Millisecond {
			t.Errorf("p99 from logout to refusal on another replica = %v; want at most 100ms", p99)
		}
	})

	t.Run("CreatedUserAppearsInCachedListEverywhere", func(t *testing.T) {
		const page = "/api/v1/users?limit=500"
		// Each write is followed by reads of the cached list on every
		// replica until the new user shows. The writing replica has it at
		// once (its own invalidation); the others hold the page in process
		// and drop it when the invalidation message arrives: the window
		// promised is 100 ms at p99, as for revocations.
		const writes = 30
		var lat []time.Duration
		for k := range writes {
			from := k % len(reps)
			for i := range reps {
				lb.sendTo(t, i, "GET", page, admin.AccessToken, "", nil)
				r := lb.sendTo(t, i, "GET", page, admin.AccessToken, "", nil)
				want(t, "list", r.resp, 200)
				if got := r.header.Get("X-Cache"); got != "HIT" {
					t.Fatalf("replica %d: second read X-Cache = %q; want HIT", i, got)
				}
			}
			name := fmt.Sprintf("fresh_user_%d", k)
			r := lb.sendTo(t, from, "POST", "/api/v1/users", admin.AccessToken, "", map[string]string{"username": name, "email": name + "@example.org", "password": "a long enough passphrase"})
			want(t, fmt.Sprintf("create %d on replica %d", k, from), r.resp, 201)
			done := time.Now()
			for i := range reps {
				if i == from {
					continue
				}
				for {
					r := lb.sendTo(t, i, "GET", page, admin.AccessToken, "", nil)
					want(t, "list", r.resp, 200)
					if listHas(t, r, name) {
						lat = append(lat, time.Since(done))
						break
					}
					// Far above the promise: only there so that a lost
					// invalidation fails instead of hanging.
					if time.Since(done) > 10*time.Second {
						t.Fatalf("replica %d still serves a list without a user created %v ago", i, time.Since(done))
					}
				}
			}
			if r := lb.sendTo(t, from, "GET", page, admin.AccessToken, "", nil); !listHas(t, r, name) {
				t.Fatalf("replica %d: its first list read after its own write (X-Cache %s) lacks the new user", from, r.header.Get("X-Cache"))
			}
		}
		slices.Sort(lat)
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		t.Logf("%d creates, each seen in the cached list of the two other replicas: p50 %v, p99 %v, max %v after the create answered", writes, p50, p99, lat[len(lat)-1])
		if p99 > 100*time.Millisecond {
			t.Errorf("p99 from a create to the new user in another replica's cached list = %v; want at most 100ms", p99)
		}
	})

	t.Run("CreatedUserReplacesCachedNotFoundEverywhere", func(t *testing.T) {
		// A user read by ID is cached in each replica's memory, "not found"
		// included; a write reaches the others' memory by a pub/sub message.
		r := lb.sendTo(t, 0, "POST", "/api/v1/users", admin.AccessToken, "", map[string]string{"username": "before_user", "email": "before@example.org", "password": "a long enough passphrase"})
		want(t, "create", r.resp, 201)
		var before user
		r.json(t, &before)
		next := fmt.Sprintf("/api/v1/users/%d", before.ID+1)
		for _, i := range []int{1, 2} {
			want(t, fmt.Sprintf("replica %d: user not there yet", i), lb.sendTo(t, i, "GET", next, admin.AccessToken, "", nil).resp, 404)
		}
		r = lb.sendTo(t, 0, "POST", "/api/v1/users", admin.AccessToken, "", map[string]string{"username": "after_user", "email": "after@example.org", "password": "a long enough passphrase"})
		want(t, "create", r.resp, 201)
		done := time.Now()
		var after user
		r.json(t, &after)
		if after.ID != before.ID+1 {
			t.Skipf("ids %d then %d: another insert took the id in between", before.ID, after.ID)
		}
		for _, i := range []int{1, 2} {
			polls := 0
			for {
				polls++
				r := lb.sendTo(t, i, "GET", next, admin.AccessToken, "", nil)
				if r.status == 200 {
					break
				}
				want(t, "read while the invalidation travels", r.resp, 404)
				// The bound is the negative TTL (30s): past it the entry is
				// gone whatever happened to the message.
				if time.Since(done) > 30*time.Second {
					t.Fatalf("replica %d still answers 404 %v after the write", i, time.Since(done))
				}
				time.Sleep(2 * time.Millisecond)
			}
			t.Logf("new user readable by ID on replica %d after %d read(s), %v after the write answered", i, polls, time.Since(done).Round(time.Microsecond))
			// Never stale again.
			want(t, "read again", lb.sendTo(t, i, "GET", next, admin.AccessToken, "", nil).resp, 200)
		}
	})

	t.Run("RollingRestartLosesNoRequest", func(t *testing.T) {
		ctx, stopLoad := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var st streamStats
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lb.stream(ctx, admin.AccessToken, &st)
			}()
		}
		waitCount(t, &st.answered, 30)
		for i := range reps {
			before := lb.backends[i].answered.Load()
			stopped := time.Now()
			lb.backends[i].stopAt.Store(stopped.UnixNano())
			reps[i].stop(t)
			t.Logf("replica %d: balancer saw it unready %v after the stop began; it answered %d requests while draining",
				i, time.Duration(lb.backends[i].unreadyAt.Load()-stopped.UnixNano()).Round(time.Millisecond), lb.backends[i].answered.Load()-before)
			reps[i] = startReplica(t, env, reps[i].addr, audit)
			if lb.backends[i].address() != reps[i].addr {
				lb.backends[i].setAddress(reps[i].addr)
			}
			lb.waitReady(t, i)
			waitCount(t, &lb.backends[i].answered, lb.backends[i].answered.Load()+10)
		}
		waitCount(t, &st.answered, st.answered.Load()+30)
		stopLoad()
		wg.Wait()
		t.Logf("rolling restart: %d requests sent, %d answered, %d failed, %d connection refusals retried on the next replica, %d unexpected statuses; per replica %v",
			st.sent.Load(), st.answered.Load(), st.failed.Load(), st.refused.Load(), st.unexpected.Load(), lb.perReplica())
		if st.failed.Load() != 0 || st.sent.Load() != st.answered.Load() {
			t.Errorf("%d of %d requests got no answer: %v", st.failed.Load(), st.sent.Load(), st.firstErr())
		}
		if st.unexpected.Load() != 0 {
			t.Errorf("%d answers had an unexpected status: %v", st.unexpected.Load(), st.firstErr())
		}
	})
}

type tokenSet struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func listHas(t *testing.T, r answer, username string) bool {
	t.Helper()
	var p usersPage
	r.json(t, &p)
	for _, u := range p.Users {
		if u.Username == username {
			return true
		}
	}
	return false
}

// untilRevoked reads with token on replica i until it is refused, and
// returns how long after since that answer came.
func untilRevoked(t *testing.T, lb *balancer, i int, token string, since time.Time) time.Duration {
	t.Helper()
	for {
		r := lb.sendTo(t, i, "GET", "/api/v1/users/1", token, "", nil)
		if r.status == 401 {
			return time.Since(since)
		}
		want(t, fmt.Sprintf("replica %d while the revocation travels", i), r.resp, 200)
		// Far above the promise: only there so that a lost revocation
		// fails instead of hanging.
		if time.Since(since) > 10*time.Second {
			t.Fatalf("replica %d still accepts a token revoked %v ago", i, time.Since(since))
		}
	}
}

// denylistSubscribers counts the connections subscribed to channel, over
// every node of a cluster.
func denylistSubscribers(t *testing.T, redisURL, channel string) int64 {
	t.Helper()
	target, err := parseRedisURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := target.client()
	defer c.Close()
	ctx := context.Background()
	var n atomic.Int64
	count := func(ctx context.Context, c *redis.Client) error {
		m, err := c.PubSubNumSub(ctx, channel).Result()
		n.Add(m[channel])
		return err
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachShard(ctx, count)
	} else {
		err = count(ctx, c.(*redis.Client))
	}
	if err != nil {
		t.Fatal(err)
	}
	return n.Load()
}

func waitCount(t *testing.T, c *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for c.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("count %d did not reach %d within 60s", c.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// replica is one in-process instance of the service.
type replica struct {
	addr   string
	app    *service
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startReplica starts the service on addr ("host:0" for a fresh port). A
// restarted replica asks for its old port back; should another process have
// taken it meanwhile, it takes a new one, as a rescheduled pod would.
func startReplica(t *testing.T, env map[string]string, addr string, audit *keyAudit) *replica {
	t.Helper()
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	// Draining replicas log every failed readiness poll; only errors of
	// the service itself are worth the test's output.
	logger := slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := start(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	a.rdb.AddHook(audit)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		cancel()
		_ = a.Close()
		t.Fatal(err)
	}
	r := &replica{addr: ln.Addr().String(), app: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Serve(ctx, ln) }()
	return r
}

// stop does what SIGTERM does: readiness fails, the replica keeps serving
// for DRAIN_DELAY, then shuts down gracefully; then it releases its stores.
func (r *replica) stop(t *testing.T) {
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("replica %s did not stop within 60s", r.addr)
		}
		if err := r.app.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// balancer is the load balancer in front of the replicas, with the
// semantics of an L7 proxy such as nginx or Envoy:
//
//   - each request goes to the next replica in turn among those it believes
//     ready; connections to a replica are kept alive and reused;
//   - it believes a replica ready after GET /ready answers 200, polled every
//     readyPollEvery, and unready as soon as a poll fails or a connection
//     to it is refused;
//   - a request whose connection to a replica could not be established
//     (refused: not a byte of it left the balancer) is sent to the next
//     replica; a request that got a connection is never sent again, whatever
//     happens to it: an error after that point is a lost request.
type balancer struct {
	t        *testing.T
	mu       sync.Mutex
	backends []*backend
	next     atomic.Uint64
	ctx      context.Context
	poll     *http.Client
	wg       sync.WaitGroup
}

type backend struct {
	mu        sync.Mutex
	addr      string
	ready     atomic.Bool
	client    *http.Client
	answered  atomic.Int64
	stopAt    atomic.Int64 // unix ns when the test began stopping it
	unreadyAt atomic.Int64 // unix ns when the balancer first saw it unready after stopAt
}

func (b *backend) address() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

func (b *backend) setAddress(a string) {
	b.mu.Lock()
	b.addr = a
	b.mu.Unlock()
}

func (b *backend) markUnready() {
	if b.ready.Swap(false) {
		if s := b.stopAt.Load(); s != 0 && b.unreadyAt.Load() < s {
			b.unreadyAt.Store(time.Now().UnixNano())
		}
	}
}

func newBalancer(t *testing.T) *balancer {
	ctx, cancel := context.WithCancel(context.Background())
	lb := &balancer{t: t, ctx: ctx, poll: &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}}
	t.Cleanup(func() {
		cancel()
		lb.wg.Wait()
		for _, b := range lb.backends {
			b.client.CloseIdleConnections()
		}
	})
	return lb
}

func (lb *balancer) add(addr string) {
	b := &backend{addr: addr, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute},
	}}
	lb.mu.Lock()
	lb.backends = append(lb.backends, b)
	lb.mu.Unlock()
	lb.wg.Add(1)
	go func() {
		defer lb.wg.Done()
		tick := time.NewTicker(readyPollEvery)
		defer tick.Stop()
		for {
			res, err := lb.poll.Get("http://" + b.address() + "/ready")
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
			if err == nil && res.StatusCode == http.StatusOK {
				b.ready.Store(true)
			} else {
				b.markUnready()
			}
			select {
			case <-lb.ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func (lb *balancer) waitReady(t *testing.T, idx ...int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, i := range idx {
		for !lb.backends[i].ready.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("replica %d not ready within 60s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (lb *balancer) perReplica() []int64 {
	var out []int64
	for _, b := range lb.backends {
		out = append(out, b.answered.Load())
	}
	return out
}

// answer is a response and the replica that gave it.
type answer struct {
	resp
	replica int
}

type request struct {
	method, path, token, ip string
	body                    []byte
}

func newRequest(method, path, token, ip string, body any) request {
	rq := request{method: method, path: path, token: token, ip: ip}
	if body != nil {
		rq.body, _ = json.Marshal(body)
	}
	return rq
}

// errNotSent marks a failure before any connection to the replica existed.
var errNotSent = errors.New("connection refused before the request was sent")

// roundTrip sends rq to backend i once.
func (lb *balancer) roundTrip(ctx context.Context, i int, rq request) (answer, error) {
	b := lb.backends[i]
	var rd io.Reader
	if rq.body != nil {
		rd = bytes.NewReader(rq.body)
	}
	var gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, rq.method, "http://"+b.address()+rq.path, rd)
	if err != nil {
		return answer{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	if rq.ip != "" {
		req.Header.Set("X-Forwarded-For", rq.ip)
	}
	res, err := b.client.Do(req)
	if err != nil {
		if !gotConn.Load() && errors.Is(err, syscall.ECONNREFUSED) {
			b.markUnready()
			return answer{}, fmt.Errorf("%w: %w", errNotSent, err)
		}
		return answer{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, fmt.Errorf("reading the body: %w", err)
	}
	b.answered.Add(1)
	return answer{resp: resp{status: res.StatusCode, header: res.Header, body: data}, replica: i}, nil
}

// pick returns the next ready replica in turn; ok is false when none is.
func (lb *balancer) pick() (int, bool) {
	n := uint64(len(lb.backends))
	start := lb.next.Add(1)
	for k := uint64(0); k < n; k++ {
		i := int((start + k) % n)
		if lb.backends[i].ready.Load() {
			return i, true
		}
	}
	return 0, false
}

// forward sends rq through the balancer: to the next ready replica, and on
// to the one after it only while connections are refused.
func (lb *balancer) forward(ctx context.Context, rq request) (answer, int, error) {
	refused := 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		i, ok := lb.pick()
		if !ok {
			if time.Now().After(deadline) {
				return answer{}, refused, errors.New("no replica ready for 30s")
			}
			time.Sleep(time.Millisecond)
			continue
		}
		a, err := lb.roundTrip(ctx, i, rq)
		if errors.Is(err, errNotSent) && time.Now().Before(deadline) {
			refused++
			continue
		}
		if err != nil {
			return answer{}, refused, fmt.Errorf("%s %s on replica %d: %w", rq.method, rq.path, i, err)
		}
		return a, refused, nil
	}
}

// send sends one request through the balancer; the test fails if it is lost.
func (lb *balancer) send(t *testing.T, method, path, token, ip string, body any) answer {
	t.Helper()
	a, _, err := lb.forward(context.Background(), newRequest(method, path, token, ip, body))
	if err != nil {
		t.Fatal(err)
	}
	checkSecurityHeaders(t, method+" "+path, a.resp)
	return a
}

// sendTo sends one request to replica i directly.
func (lb *balancer) sendTo(t *testing.T, i int, method, path, token, ip string, body any) answer {
	t.Helper()
	a, err := lb.roundTrip(context.Background(), i, newRequest(method, path, token, ip, body))
	if err != nil {
		t.Fatalf("%s %s on replica %d: %v", method, path, i, err)
	}
	checkSecurityHeaders(t, method+" "+path, a.resp)
	return a
}

func (lb *balancer) login(t *testing.T, ip, user, password string) tokenSet {
	t.Helper()
	r := lb.send(t, "POST", "/auth/login", "", ip, map[string]string{"username": user, "password": password})
	want(t, "login", r.resp, 200)
	var set tokenSet
	r.json(t, &set)
	return set
}

// streamStats counts the steady request stream of a rolling restart.
type streamStats struct {
	sent, answered, failed, refused, unexpected atomic.Int64

	mu  sync.Mutex
	err error
}

func (s *streamStats) record(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *streamStats) firstErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// stream sends requests until ctx ends: reads of the list and of one user,
// and a POST (never safe to repeat) that the service refuses as invalid.
func (lb *balancer) stream(ctx context.Context, token string, st *streamStats) {
	reqs := []struct {
		rq   request
		want int
	}{
		{newRequest("GET", "/api/v1/users?limit=5", token, "", nil), 200},
		{newRequest("GET", "/api/v1/users/1", token, "", nil), 200},
		{newRequest("POST", "/api/v1/users", token, "", map[string]string{"username": "x!"}), 422},
	}
	for n := 0; ctx.Err() == nil; n++ {
		r := reqs[n%len(reqs)]
		st.sent.Add(1)
		// The request is not tied to ctx: once sent it runs to its end.
		a, refused, err := lb.forward(context.Background(), r.rq)
		st.refused.Add(int64(refused))
		if err != nil {
			st.failed.Add(1)
			st.record(err)
			continue
		}
		st.answered.Add(1)
		if a.status != r.want {
			st.unexpected.Add(1)
			st.record(fmt.Errorf("%s %s on replica %d = %d %s; want %d", r.rq.method, r.rq.path, a.replica, a.status, a.body, r.want))
		}
	}
}

// keyAudit watches every command the replicas send to Redis: every key must
// lie under the APP_NAME prefix (so one Redis can serve several services and
// a test's cleanup finds everything), and a script or transaction must keep
// its keys in one Cluster slot (hash tags), or Redis Cluster refuses it.
type keyAudit struct {
	prefix string

	mu       sync.Mutex
	families map[string]int
	problems []string
}

func newKeyAudit(t *testing.T, appName string) *keyAudit {
	k := &keyAudit{prefix: appName + ":", families: map[string]int{}}
	t.Cleanup(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, p := range k.problems {
			t.Errorf("redis key audit: %s", p)
		}
		var fams []string
		for f, n := range k.families {
			fams = append(fams, fmt.Sprintf("%s (%d)", f, n))
		}
		slices.Sort(fams)
		t.Logf("redis keys used, by shape: %s", strings.Join(fams, ", "))
	})
	return k
}

var (
	auditDigits = regexp.MustCompile(`[A-Za-z0-9_-]{16,}|[0-9]+`)
	auditTag    = regexp.MustCompile(`\{[^}]*\}`)
	// auditJWT matches a JWT: its header starts "eyJ" and two dots follow.
	// "eyJ" alone is not enough: random IDs in keys contain it now and then.
	auditJWT = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.`)
)

// family turns a key into its shape: hash tags and numbers elided.
func (k *keyAudit) family(key string) string {
	f := strings.TrimPrefix(key, k.prefix)
	if rest, ok := strings.CutPrefix(f, "cache:http:"); ok {
		f = "cache:http:<method host path query version>"
		if strings.Contains(rest, "\x00vary\x00") {
			f += "<vary digest>"
		}
		return "<APP_NAME>:" + f
	}
	f = auditTag.ReplaceAllString(f, "{…}")
	return "<APP_NAME>:" + auditDigits.ReplaceAllString(f, "#")
}

// keysOf returns the keys a command names (the commands the service uses).
func keysOf(cmd redis.Cmder) []string {
	args := cmd.Args()
	str := func(v any) string { s, _ := v.(string); return s }
	switch cmd.Name() {
	case "evalsha", "eval", "evalsha_ro", "eval_ro":
		n, _ := args[2].(int)
		var keys []string
		for i := 0; i < n && 3+i < len(args); i++ {
			keys = append(keys, str(args[3+i]))
		}
		return keys
	case "del", "exists", "mget", "unlink", "touch":
		var keys []string
		for _, a := range args[1:] {
			keys = append(keys, str(a))
		}
		return keys
	case "ping", "multi", "exec", "script", "hello", "client", "cluster", "info", "time",
		"publish", "subscribe", "unsubscribe", "psubscribe", "ssubscribe", "command", "readonly", "select", "auth":
		return nil
	}
	if len(args) > 1 {
		return []string{str(args[1])}
	}
	return nil
}

// check records cmds' keys; tx says they run as one transaction.
func (k *keyAudit) check(cmds []redis.Cmder, tx bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	txSlot := -1
	for _, c := range cmds {
		keys := keysOf(c)
		slot := -1
		for _, key := range keys {
			if !strings.HasPrefix(key, k.prefix) {
				k.problems = append(k.problems, fmt.Sprintf("%s %q is outside the prefix %q", c.Name(), key, k.prefix))
			}
			if strings.Contains(key, "Bearer") || auditJWT.MatchString(key) {
				k.problems = append(k.problems, fmt.Sprintf("%s: key %.60q… holds a bearer token", c.Name(), key))
			}
			k.families[k.family(key)]++
			s := clusterSlot(key)
			if slot >= 0 && s != slot {
				k.problems = append(k.problems, fmt.Sprintf("%s touches keys in several slots: %q", c.Name(), keys))
			}
			slot = s
			if tx {
				if txSlot >= 0 && s != txSlot {
					k.problems = append(k.problems, fmt.Sprintf("a transaction touches keys in several slots (%s %q)", c.Name(), key))
				}
				txSlot = s
			}
		}
	}
}

func (k *keyAudit) DialHook(next redis.DialHook) redis.DialHook { return next }

func (k *keyAudit) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		k.check([]redis.Cmder{cmd}, false)
		return next(ctx, cmd)
	}
}

func (k *keyAudit) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		tx := len(cmds) > 0 && cmds[0].Name() == "multi"
		k.check(cmds, tx)
		return next(ctx, cmds)
	}
}

// clusterSlot is Redis Cluster's HASH_SLOT: CRC16 (XMODEM) of the key, or of
// its hash tag, modulo 16384.
func clusterSlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

func TestClusterSlot(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	for key, want := range map[string]int{"123456789": 12739, "foo": 12182} {
		if got := clusterSlot(key); got != want {
			t.Errorf("clusterSlot(%q) = %d; want %d", key, got, want)
		}
	}
	if clusterSlot("a:{fam}:x") != clusterSlot("fam") || clusterSlot("foo{}{bar}") == clusterSlot("bar") {
		t.Errorf("hash tags are not read as Redis Cluster reads them")
	}
}
