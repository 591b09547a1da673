package redisstore

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait on an event of the mirror: far above what it
// should take, only there so that a broken mirror fails instead of hanging.
const waitFor = 10 * time.Second

// mirrorEvents is what a test hears from one store's mirror. Its hooks
// never block the mirror's goroutine.
type mirrorEvents struct {
	mu      sync.Mutex
	synced  bool // the latest state reported
	applied map[string]time.Time
	cond    chan struct{} // closed and replaced on each report
}

func newMirrorEvents() *mirrorEvents {
	return &mirrorEvents{applied: map[string]time.Time{}, cond: make(chan struct{})}
}

// notify wakes the waiters; callers hold mu.
func (e *mirrorEvents) notify() {
	close(e.cond)
	e.cond = make(chan struct{})
}

func (e *mirrorEvents) opts() []Option {
	return []Option{WithLocalMirror(), func(c *config) {
		c.mirrorMinBackoff = 10 * time.Millisecond
		c.onState = func(synced bool) {
			e.mu.Lock()
			e.synced = synced
			e.notify()
			e.mu.Unlock()
		}
		c.onApply = func(member string) {
			at := time.Now()
			e.mu.Lock()
			if _, ok := e.applied[member]; !ok {
				e.applied[member] = at
			}
			e.notify()
			e.mu.Unlock()
		}
	}}
}

// waitState waits until the latest state the mirror reported is synced
// (true) or lost (false).
func (e *mirrorEvents) waitState(t testing.TB, want bool) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		e.mu.Lock()
		got, cond := e.synced, e.cond
		e.mu.Unlock()
		if got == want {
			return
		}
		select {
		case <-cond:
		case <-deadline:
			t.Fatalf("mirror did not report synced=%v within %v", want, waitFor)
		}
	}
}

// waitApplied waits until a message carrying member has been applied, and
// returns when.
func (e *mirrorEvents) waitApplied(t testing.TB, member string) time.Time {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		e.mu.Lock()
		at, ok := e.applied[member]
		cond := e.cond
		e.mu.Unlock()
		if ok {
			return at
		}
		select {
		case <-cond:
		case <-deadline:
			t.Fatalf("message for %q not applied within %v", member, waitFor)
		}
	}
}

// cmdCounter counts the commands a client sends (n; a pipeline counts
// each) and its round trips (trips; a pipeline counts one).
type cmdCounter struct{ n, trips atomic.Int64 }

func (*cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		c.trips.Add(1)
		return next(ctx, cmd)
	}
}
func (c *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		c.trips.Add(1)
		return next(ctx, cmds)
	}
}

// countedClient returns a client of its own on the test Redis, and the
// counter of the commands it sends.
func countedClient(t testing.TB, addr string) (*redis.Client, *cmdCounter) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	n := &cmdCounter{}
	c.AddHook(n)
	return c, n
}

func newMirrorStore(t testing.TB, c redis.UniversalClient, prefix string, opts ...Option) *Store {
	t.Helper()
	// A loaded test machine may take longer than the default timeout.
	s, err := New(context.Background(), c, append([]Option{WithKeyPrefix(prefix), WithLogger(discard()), WithTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestMirrorWindow revokes tokens through one of three stores sharing a
// Redis, as three replicas would, and measures when each store's mirror
// refuses them: the promise is 100 ms at the 99th percentile, from the
// moment the revoking call starts.
func TestMirrorWindow(t *testing.T) {
	r := testenv.NewRedis(t)
	const replicas, revocations = 3, 200
	var stores [replicas]*Store
	var events [replicas]*mirrorEvents
	for i := range stores {
		events[i] = newMirrorEvents()
		stores[i] = newMirrorStore(t, r.Client, r.Prefix, events[i].opts()...)
	}
	for _, e := range events {
		e.waitState(t, true)
	}
	ctx := context.Background()
	issued := time.Now().Add(-time.Minute)
	var lat []time.Duration
	for i := range revocations {
		jti := fmt.Sprintf("jti-%d", i)
		from := i % replicas
		start := time.Now()
		if err := stores[from].DenyToken(ctx, jti, start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for k, s := range stores {
			// The revoking store applies the revocation before it writes
			// it: only the others are measured.
			if k != from {
				lat = append(lat, max(0, events[k].waitApplied(t, jtiMember(jti)).Sub(start)))
			}
			if got, ok := s.mirror.revoked(jti, "sub", issued); !ok || !got {
				t.Fatalf("store %d after revocation %d: mirror revoked = %v, trusted = %v; want true, true", k, i, got, ok)
			}
		}
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("%d revocations seen by %d other stores each: p50 %v, p99 %v, max %v", revocations, replicas-1, p50, p99, lat[len(lat)-1])
	if p99 > 100*time.Millisecond {
		t.Errorf("p99 from revocation to refusal = %v; want at most 100ms", p99)
	}
}

// TestMirrorOutage takes the subscription down and brings it back: while
// down the store asks Redis, and what was revoked meanwhile is refused from
// the mirror once it is back.
func TestMirrorOutage(t *testing.T) {
	r := testenv.NewRedis(t)
	addr := r.Client.Options().Addr
	direct, calls := countedClient(t, addr)
	px := newProxy(t, addr)
	sub := redis.NewClient(&redis.Options{Addr: px.addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = sub.Close() })
	ev := newMirrorEvents()
	s := newMirrorStore(t, direct, r.Prefix, append(ev.opts(), func(c *config) { c.subClient = sub })...)
	writer := newMirrorStore(t, r.Client, r.Prefix)
	ctx := context.Background()
	issued := time.Now().Add(-time.Minute)
	until := time.Now().Add(time.Hour)
	check := func(step, jti string, want bool, wantDirect bool) {
		t.Helper()
		before := calls.n.Load()
		got, err := s.Revoked(ctx, jti, "sub", issued)
		if err != nil || got != want {
			t.Fatalf("%s: Revoked(%q) = %v, %v; want %v, nil", step, jti, got, err, want)
		}
		if n := calls.n.Load() - before; (n > 0) != wantDirect {
			t.Fatalf("%s: Revoked(%q) sent %d Redis commands; want direct = %v", step, jti, n, wantDirect)
		}
	}

	ev.waitState(t, true)
	if err := writer.DenyToken(ctx, "before", until); err != nil {
		t.Fatal(err)
	}
	ev.waitApplied(t, jtiMember("before"))
	check("synced", "before", true, false)
	check("synced", "other", false, false)

	px.setMode(proxyCut)
	ev.waitState(t, false)
	check("down", "other", false, true)
	if err := writer.DenyToken(ctx, "during", until); err != nil {
		t.Fatal(err)
	}
	if err := writer.DenySubject(ctx, "victim", time.Now(), until); err != nil {
		t.Fatal(err)
	}
	check("down", "during", true, true)

	px.setMode(proxyPass)
	ev.waitState(t, true)
	// Nothing was published to this store while it was down: these come
	// from the reload that preceded "synced".
	check("resynced", "during", true, false)
	check("resynced", "before", true, false)
	if got, ok := s.mirror.revoked("", "victim", issued); !ok || !got {
		t.Fatalf("resynced: subject revoked = %v, trusted = %v; want true, true", got, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed", "during", true, true)
}

// TestMirrorSilentDeath freezes the subscription's connection without
// closing it: the heartbeat goes unanswered and the mirror stops trusting
// itself, then resyncs once the connection can be made again.
func TestMirrorSilentDeath(t *testing.T) {
	r := testenv.NewRedis(t)
	px := newProxy(t, r.Client.Options().Addr)
	sub := redis.NewClient(&redis.Options{Addr: px.addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = sub.Close() })
	ev := newMirrorEvents()
	s := newMirrorStore(t, r.Client, r.Prefix, append(ev.opts(), func(c *config) { c.subClient = sub })...)
	ev.waitState(t, true)
	px.setMode(proxyFreeze)
	ev.waitState(t, false)
	if _, ok := s.mirror.revoked("j", "sub", time.Now()); ok {
		t.Fatal("mirror trusted after its subscription was found dead")
	}
	px.setMode(proxyPass)
	ev.waitState(t, true)
	if _, ok := s.mirror.revoked("j", "sub", time.Now()); !ok {
		t.Fatal("mirror not trusted after resync")
	}
}

// TestMirrorMatchesDirect runs the shared denylist checks against a store
// with a mirror, then compares its answers with a direct store's.
func TestMirrorMatchesDirect(t *testing.T) {
	r := testenv.NewRedis(t)
	ev := newMirrorEvents()
	m := newMirrorStore(t, r.Client, r.Prefix, ev.opts()...)
	d := newMirrorStore(t, r.Client, r.Prefix)
	ev.waitState(t, true)
	ctx := context.Background()
	now := time.Now()
	for _, c := range []struct {
		name string
		deny func() error
	}{
		{"token", func() error { return d.DenyToken(ctx, "t1", now.Add(time.Hour)) }},
		{"expired token", func() error { return d.DenyToken(ctx, "t2", now.Add(-time.Second)) }},
		{"subject", func() error { return d.DenySubject(ctx, "s1", now, now.Add(time.Hour)) }},
		{"earlier subject", func() error { return d.DenySubject(ctx, "s1", now.Add(-time.Hour), now.Add(time.Hour)) }},
	} {
		if err := c.deny(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	// A marker published last: the mirror has applied everything before it.
	if err := d.DenyToken(ctx, "marker", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ev.waitApplied(t, jtiMember("marker"))
	for _, q := range []struct {
		jti, sub string
		iat      time.Time
	}{
		{"t1", "x", now}, {"t2", "x", now}, {"t3", "x", now},
		{"", "s1", now.Add(-time.Minute)}, {"", "s1", now.Add(time.Second)}, {"t9", "s2", now.Add(-time.Hour)},
	} {
		want, err := d.Revoked(ctx, q.jti, q.sub, q.iat)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := m.mirror.revoked(q.jti, q.sub, q.iat)
		if !ok || got != want {
			t.Errorf("mirror revoked(%q, %q) = %v (trusted %v); direct says %v", q.jti, q.sub, got, ok, want)
		}
	}
}

func TestMirrorDeliverIgnoresMalformed(t *testing.T) {
	m := newMirror()
	for _, p := range []string{"", " ", "x", "1", "1 ", "1 j", "abc jx", "1 s", "1 sabc x", "1 s12", "1 q1"} {
		m.deliver(p)
	}
	if n := m.size(); n != 0 {
		t.Fatalf("%d entries after malformed messages; want 0", n)
	}
	m.deliver(fmt.Sprintf("%d jgood", time.Now().Add(time.Hour).UnixMilli()))
	m.setFresh(time.Now())
	if got, ok := m.revoked("good", "s", time.Now()); !got || !ok {
		t.Fatalf("revoked(good) = %v, %v; want true, true", got, ok)
	}
}

func FuzzMirrorDeliver(f *testing.F) {
	f.Add("1893456000000 jabc")
	f.Add("1893456000000 s1700000000000 user 1")
	f.Fuzz(func(t *testing.T, payload string) {
		m := newMirror()
		m.deliver(payload)
		if m.size() > 1 {
			t.Fatalf("%d entries from one message", m.size())
		}
	})
}

// BenchmarkVerifyDenylist measures the middleware's verify path on a token
// it has seen before (the signature check is cached), with the denylist
// read from Redis on each request (direct) or from a synced local mirror.
// redis-cmds/op is the Redis commands each request sends, redis-trips/op
// its round trips.
func BenchmarkVerifyDenylist(b *testing.B) {
	for _, mode := range []string{"direct", "mirror"} {
		b.Run(mode, func(b *testing.B) {
			r := testenv.NewRedis(b)
			c, calls := countedClient(b, r.Client.Options().Addr)
			ev := newMirrorEvents()
			var opts []Option
			if mode == "mirror" {
				opts = ev.opts()
			}
			s := newMirrorStore(b, c, r.Prefix, opts...)
			if mode == "mirror" {
				ev.waitState(b, true)
			}
			a := newAuth(b, jwtauth.WithDenylist(s))
			token := sign(b, "u1")
			h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"ok":true}`)
			}))
			b.ReportAllocs()
			b.ResetTimer()
			before, tripsBefore := calls.n.Load(), calls.trips.Load()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodGet, "/", nil)
					req.Header.Set("Authorization", "Bearer "+token)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatal(w.Code)
					}
				}
			})
			b.ReportMetric(float64(calls.n.Load()-before)/float64(b.N), "redis-cmds/op")
			b.ReportMetric(float64(calls.trips.Load()-tripsBefore)/float64(b.N), "redis-trips/op")
		})
	}
}

// proxy forwards TCP to Redis, and can cut every connection (refusing new
// ones) or freeze them (dropping every byte, closing nothing).
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	mu     sync.Mutex
	mode   int
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

const (
	proxyPass = iota
	proxyCut
	proxyFreeze
)

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.setMode(proxyCut)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) setMode(m int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	if m == proxyCut {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		if mode == proxyCut {
			_ = in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

// pipe copies src to dst until either fails, dropping what it reads while
// the proxy is frozen.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer func() { _ = src.Close(); _ = dst.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		frozen := p.mode == proxyFreeze
		p.mu.Unlock()
		if frozen {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// TestMirrorRefreshCheckIsDirect: the subject check jwtauth makes before a
// refresh (no jti) reads Redis even with a synced mirror.
func TestMirrorRefreshCheckIsDirect(t *testing.T) {
	r := testenv.NewRedis(t)
	c, calls := countedClient(t, r.Client.Options().Addr)
	ev := newMirrorEvents()
	s := newMirrorStore(t, c, r.Prefix, ev.opts()...)
	ev.waitState(t, true)
	ctx := context.Background()
	for _, q := range []struct {
		jti        string
		wantDirect bool
	}{{"", true}, {"some-jti", false}} {
		before := calls.n.Load()
		if _, err := s.Revoked(ctx, q.jti, "sub", time.Now()); err != nil {
			t.Fatal(err)
		}
		if n := calls.n.Load() - before; (n > 0) != q.wantDirect {
			t.Errorf("Revoked(jti %q) sent %d commands; want direct = %v", q.jti, n, q.wantDirect)
		}
	}
}
