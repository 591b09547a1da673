package health

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestWithBackgroundConfig(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{
		{"zero", 0},
		{"negative", -time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(WithCheck("cert", pass, WithBackground(tc.interval)))
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "background interval") {
				t.Errorf("New(WithBackground(%v)) = %v; want ErrInvalidConfig naming the interval", tc.interval, err)
			}
		})
	}
}

// stall is a check whose dependency accepts and never answers: it returns
// only when its context is done.
func stall(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestWithBackgroundNeverWaits runs on synctest's fake clock: a probe that
// waited for the stalled check would move the clock by its timeout.
func TestWithBackgroundNeverWaits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		critical bool
		code     int
		status   Status
	}{
		{"critical", true, http.StatusServiceUnavailable, StatusFail},
		{"non-critical", false, http.StatusOK, StatusWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := mustNew(t, WithCacheTTL(0),
					WithCheck("db", pass),
					WithCheck("cert", stall, WithTimeout(5*time.Second), WithBackground(time.Minute), WithCritical(tc.critical)))
				h := c.Readiness()
				probe := func(wantErr error, wantAge time.Duration) {
					t.Helper()
					start := time.Now()
					rec := get(t, h, "/ready")
					if d := time.Since(start); d != 0 {
						t.Errorf("probe took %v on the fake clock; want 0", d)
					}
					b := decode(t, rec)
					if rec.Code != tc.code || b.Status != tc.status {
						t.Errorf("probe = %d %s; want %d %s", rec.Code, b.Status, tc.code, tc.status)
					}
					rep, err := c.Report(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					res := rep.Checks[1]
					if !errors.Is(res.Err, wantErr) || res.Age != wantAge {
						t.Errorf("cert = %v, age %v; want %v, age %v", res.Err, res.Age, wantErr, wantAge)
					}
					if rep.Checks[0].Age != 0 {
						t.Errorf("db age = %v; want 0 for a foreground check", rep.Checks[0].Age)
					}
				}
				probe(ErrPending, 0) // the first call is still stalled
				time.Sleep(3 * time.Second)
				probe(ErrPending, 0)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				probe(ErrTimeout, 5*time.Second) // the call ended at its timeout
				time.Sleep(57 * time.Second)     // the second call is under way
				synctest.Wait()
				probe(ErrTimeout, 62*time.Second)
			})
		})
	}
}

func TestWithBackgroundResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			failing atomic.Bool
			calls   atomic.Int32
			mu      sync.Mutex
			changes []Change
		)
		c := mustNew(t, WithCacheTTL(0),
			WithStatusHook(func(ch Change) { mu.Lock(); changes = append(changes, ch); mu.Unlock() }),
			WithCheck("disk", func(context.Context) error {
				calls.Add(1)
				if failing.Load() {
					return errorString("disk full")
				}
				return nil
			}, WithBackground(10*time.Second)))
		synctest.Wait()
		h := c.Readiness()
		for range 3 { // probes never call a background check
			if rec := get(t, h, "/ready"); rec.Code != http.StatusOK {
				t.Fatalf("probe = %d; want 200", rec.Code)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("calls = %d; want 1", n)
		}
		failing.Store(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if rec := get(t, h, "/ready?verbose"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "[-]disk failed: disk full") {
			t.Fatalf("probe = %d %q; want 503 naming the failure", rec.Code, rec.Body.String())
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := calls.Load(); n != 3 {
			t.Fatalf("calls = %d; want 3", n)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := calls.Load(); n != 3 {
			t.Errorf("calls after Close = %d; want 3", n)
		}
		mu.Lock()
		defer mu.Unlock()
		want := []struct{ from, to Status }{{"", StatusPass}, {StatusPass, StatusFail}}
		if len(changes) != len(want) {
			t.Fatalf("changes = %+v; want %d", changes, len(want))
		}
		for i, w := range want {
			if changes[i].Check != "disk" || changes[i].From != w.from || changes[i].To != w.to {
				t.Errorf("change %d = %+v; want disk %s -> %s", i, changes[i], w.from, w.to)
			}
		}
	})
}

// TestWithBackgroundTLSStall is the deployment case end to end: the watched
// endpoint accepts TCP and then says nothing. Readiness answers while the
// certificate check is still stuck in its handshake.
func TestWithBackgroundTLSStall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			accepted <- conn
		}
	}()
	cert, err := TLSCert(ln.Addr().String(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(WithCheck("cert", cert, WithTimeout(time.Hour), WithBackground(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn := <-accepted // the check is now waiting for a ServerHello
	defer conn.Close()
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "?verbose")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "no result yet") {
		t.Errorf("GET /ready?verbose = %d %q; want 503 pending", resp.StatusCode, body)
	}
}
