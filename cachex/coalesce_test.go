package cachex

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
)

// gate is a handler that counts its calls and holds each until released.
type gate struct {
	calls   atomic.Int32
	entered chan struct{} // one value per call
	release chan struct{} // closed to let every call answer
	header  http.Header
	status  int
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 1000), release: make(chan struct{}), header: http.Header{"Content-Type": {"text/plain"}}}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	g.entered <- struct{}{}
	<-g.release
	for k, v := range g.header {
		w.Header()[k] = v
	}
	if enc := r.Header.Get("Accept-Encoding"); enc != "" {
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("Content-Language", enc)
	}
	if g.status != 0 {
		w.WriteHeader(g.status)
	}
	_, _ = w.Write([]byte("page " + r.URL.RequestURI() + " " + r.Header.Get("Accept-Encoding")))
}

// flightsOf reports how many misses of h are in flight.
func flightsOf(h *HTTPCache) int {
	h.flightMu.Lock()
	defer h.flightMu.Unlock()
	return len(h.flights)
}

// fire sends n GETs of target through h at once, the i-th with header
// values hdr(i), and returns their recorders once all have answered.
func fire(t *testing.T, h http.Handler, n int, target string, hdr func(i int) []string, started func()) []*httptest.ResponseRecorder {
	t.Helper()
	out := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h2 []string
			if hdr != nil {
				h2 = hdr(i)
			}
			out[i] = do(h, "GET", target, h2...)
		}()
	}
	started()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("requests did not answer within 30 s")
	}
	return out
}

// TestHTTPMissCoalescing: concurrent misses of one key run the handler
// once and the others are served what it stored; with Vary, once per
// variant; a response that is not stored releases the others to run the
// handler themselves at once; the wait is bounded; WithMissWait(0) turns
// it off.
func TestHTTPMissCoalescing(t *testing.T) {
	const n = 20
	hour := time.Hour
	tests := []struct {
		name      string
		wait      *time.Duration // nil: the default
		status    int
		variants  int // Accept-Encoding values spread over the requests (0: none)
		wantCalls int32
		wantHits  int
	}{
		{name: "one key", wantCalls: 1, wantHits: n - 1},
		{name: "long wait", wait: &hour, wantCalls: 1, wantHits: n - 1},
		{name: "two variants", variants: 2, wantCalls: 2, wantHits: n - 2},
		{name: "not storable", wait: &hour, status: http.StatusInternalServerError, wantCalls: n},
		{name: "off", wait: new(time.Duration), wantCalls: n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []HTTPOption
			if tt.wait != nil {
				opts = append(opts, WithMissWait(*tt.wait))
			}
			hc := newHTTP(t, newClock(), nil, opts...)
			g := newGate()
			g.status = tt.status
			h := hc.Handler(g)
			var hdr func(int) []string
			if tt.variants > 0 {
				hdr = func(i int) []string { return []string{"Accept-Encoding", []string{"gzip", "br"}[i%tt.variants]} }
			}
			out := fire(t, h, n, "/page", hdr, func() {
				if tt.wait != nil && *tt.wait == 0 {
					// Not coalesced: every request enters the handler.
					for range n {
						<-g.entered
					}
					close(g.release)
					return
				}
				// One request in the handler, the rest waiting for it.
				<-g.entered
				waitFor(t, "the other requests to wait", func() bool { return g.calls.Load() == 1 && flightsOf(hc) == 1 })
				time.Sleep(20 * time.Millisecond) // let stragglers reach the wait
				close(g.release)
			})
			if got := g.calls.Load(); got != tt.wantCalls {
				t.Errorf("handler ran %d times for %d concurrent misses; want %d", got, n, tt.wantCalls)
			}
			hits := 0
			for _, w := range out {
				if w.Header().Get("X-Cache") == "HIT" {
					hits++
				}
				if w.Code != max(tt.status, http.StatusOK) {
					t.Errorf("status %d; want %d", w.Code, max(tt.status, http.StatusOK))
				}
			}
			if hits != tt.wantHits {
				t.Errorf("%d of %d answered from the cache; want %d", hits, n, tt.wantHits)
			}
			if f := flightsOf(hc); f != 0 {
				t.Errorf("%d flights left", f)
			}
		})
	}
}

// TestHTTPMissCoalescingBodies: every waiter gets the body of its own
// variant.
func TestHTTPMissCoalescingBodies(t *testing.T) {
	hc := newHTTP(t, newClock(), nil)
	g := newGate()
	h := hc.Handler(g)
	encs := []string{"gzip", "br", "zstd"}
	out := fire(t, h, 30, "/page", func(i int) []string { return []string{"Accept-Encoding", encs[i%3]} }, func() {
		<-g.entered
		time.Sleep(20 * time.Millisecond)
		close(g.release)
	})
	for i, w := range out {
		if want := "page /page " + encs[i%3]; w.Body.String() != want {
			t.Errorf("request %d (%s): body %q; want %q", i, encs[i%3], w.Body, want)
		}
	}
	if got := g.calls.Load(); got > 3 {
		t.Errorf("handler ran %d times for three variants; want at most 3", got)
	}
}

// TestHTTPMissWaitBounded: requests waiting for a slow first response run
// the handler themselves once the miss wait has passed.
func TestHTTPMissWaitBounded(t *testing.T) {
	hc := newHTTP(t, newClock(), nil, WithMissWait(10*time.Millisecond))
	g := newGate()
	h := hc.Handler(g)
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- do(h, "GET", "/slow") }()
	<-g.entered
	// The first request holds the handler; the next ones give up waiting
	// and enter it themselves.
	out := make(chan *httptest.ResponseRecorder, 3)
	for range 3 {
		go func() { out <- do(h, "GET", "/slow") }()
	}
	for range 3 {
		select {
		case <-g.entered:
		case <-time.After(30 * time.Second):
			t.Fatal("a waiting request did not run the handler after the miss wait")
		}
	}
	close(g.release)
	for range 3 {
		if w := <-out; w.Header().Get("X-Cache") != "MISS" || w.Code != http.StatusOK {
			t.Errorf("waiter: X-Cache %q status %d; want MISS 200", w.Header().Get("X-Cache"), w.Code)
		}
	}
	<-first
	if got := g.calls.Load(); got != 4 {
		t.Errorf("handler ran %d times; want 4", got)
	}
}

// TestHTTPMissCoalescingPanic: a handler that panics releases the requests
// waiting for it.
func TestHTTPMissCoalescingPanic(t *testing.T) {
	hc := newHTTP(t, newClock(), nil, WithMissWait(time.Hour))
	var calls atomic.Int32
	entered, release := make(chan struct{}, 10), make(chan struct{})
	h := hc.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-release
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	go func() {
		defer func() { _ = recover() }()
		do(h, "GET", "/p")
	}()
	<-entered
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do(h, "GET", "/p") }()
	waitFor(t, "the second request to wait", func() bool { return calls.Load() == 1 })
	time.Sleep(10 * time.Millisecond)
	close(release)
	select {
	case w := <-done:
		if w.Body.String() != "ok" {
			t.Fatalf("waiter body %q; want ok", w.Body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiter was not released by the panic")
	}
}

// TestFillsNotAnnounced: a value a replica loads (GetOrLoad) or a response
// it stores after a miss does not make other replicas drop their
// in-process copy; Set still does.
func TestFillsNotAnnounced(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	a, b := redisCache[string](t, r), redisCache[string](t, r)
	if err := a.Set(ctx, "k", "v1", time.Minute); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to serve k in process", func() bool {
		v, err := b.Get(ctx, "k")
		if err != nil || v != "v1" {
			t.Fatalf("b.Get(k) = %q, %v; want v1", v, err)
		}
		return b.Stats().Local.Hits > 0
	})
	// a loads another key: b hears nothing of it.
	if _, err := a.GetOrLoad(ctx, "loaded", time.Minute, func(context.Context) (string, error) { return "x", nil }); err != nil {
		t.Fatal(err)
	}
	// a loads k itself after dropping it locally and in Redis; b must keep
	// its copy (no message), so its next reads stay in process.
	if err := r.Client.Del(ctx, r.Key("k")).Err(); err != nil {
		t.Fatal(err)
	}
	a.local.Invalidate("k")
	if _, err := a.GetOrLoad(ctx, "k", time.Minute, func(context.Context) (string, error) { return "v1", nil }); err != nil {
		t.Fatal(err)
	}
	before := b.Stats().Shared
	time.Sleep(100 * time.Millisecond) // a message, had there been one, has arrived
	for range 5 {
		if v, err := b.Get(ctx, "k"); err != nil || v != "v1" {
			t.Fatalf("b.Get(k) = %q, %v; want v1", v, err)
		}
	}
	if after := b.Stats().Shared; after.Hits+after.Misses != before.Hits+before.Misses {
		t.Fatalf("b read the shared tier %d times after a's fill; want 0 (the fill was announced)", after.Hits+after.Misses-before.Hits-before.Misses)
	}
	// A Set is announced.
	if err := a.Set(ctx, "k", "v2", time.Minute); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to see a's Set", func() bool {
		v, _ := b.Get(ctx, "k")
		return v == "v2"
	})
}
