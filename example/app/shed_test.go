package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestShedder(t *testing.T) {
	tests := []struct {
		name    string
		backlog int
		wait    time.Duration
		release time.Duration // when the request in flight finishes
		want    int           // status of the second request
	}{
		{"no backlog", 0, time.Second, time.Second, http.StatusServiceUnavailable},
		{"no wait", 5, 0, time.Second, http.StatusServiceUnavailable},
		{"slot frees in time", 1, time.Second, 100 * time.Millisecond, http.StatusOK},
		{"wait runs out", 1, 100 * time.Millisecond, time.Second, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newShedder(1, tt.backlog, tt.wait).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/slow" {
						time.Sleep(tt.release)
					}
				}))
				var wg sync.WaitGroup
				wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil)) })
				synctest.Wait()
				start := time.Now()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				if rec.Code != tt.want {
					t.Fatalf("second request = %d; want %d", rec.Code, tt.want)
				}
				if rec.Code == http.StatusServiceUnavailable {
					if rec.Header().Get("Retry-After") == "" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
						t.Errorf("503 headers = %v; want Retry-After and problem+json", rec.Header())
					}
					if waited := time.Since(start); waited > tt.wait {
						t.Errorf("503 after %v; want within %v", waited, tt.wait)
					}
				}
				wg.Wait()
				// The slot is free again.
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				if rec.Code != http.StatusOK {
					t.Errorf("after release = %d; want 200", rec.Code)
				}
			})
		})
	}
}

// TestShedderCanceledWait checks that a client gone while waiting leaves
// the backlog.
func TestShedderCanceledWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShedder(1, 1, time.Minute)
		block := make(chan struct{})
		h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				<-block
			}
		}))
		var wg sync.WaitGroup
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil)) })
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), req) })
		synctest.Wait()
		if n := s.waiting.Load(); n != 1 {
			t.Fatalf("waiting = %d; want 1", n)
		}
		cancel()
		synctest.Wait()
		if n := s.waiting.Load(); n != 0 {
			t.Errorf("waiting after cancel = %d; want 0", n)
		}
		close(block)
		wg.Wait()
	})
}

// TestShedderSparesProbes checks that a full service still answers its
// probes: the shedder sits in the stack the probes skip.
func TestShedderSparesProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		h := exceptProbes(newShedder(1, 0, 0).Handler)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				<-block
			}
		}))
		var wg sync.WaitGroup
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil)) })
		synctest.Wait()
		for path, want := range map[string]int{"/api/v1/users": 503, "/health": 200, "/ready": 200, "/ready/database": 200} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != want {
				t.Errorf("GET %s while full = %d; want %d", path, rec.Code, want)
			}
		}
		close(block)
		wg.Wait()
	})
}
