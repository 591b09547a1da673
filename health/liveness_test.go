package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestLiveness(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int32
	c := mustNew(t, withNow(clock.Now), WithVersion("2.0.1"), WithServiceID("orders"),
		WithCheck("database", func(context.Context) error { calls.Add(1); return nil }))
	clock.Add(90 * time.Second)
	tests := []struct {
		name  string
		drain bool
	}{{"serving", false}, {"draining", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.drain {
				c.Drain()
			}
			rec := get(t, c.Liveness(), "/health")
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ContentTypeHealth {
				t.Fatalf("GET /health = %d %q; want 200 %s", rec.Code, rec.Header().Get("Content-Type"), ContentTypeHealth)
			}
			b := decode(t, rec)
			if b.Status != StatusPass || b.Version != "2.0.1" || b.ServiceID != "orders" {
				t.Fatalf("body = %+v", b)
			}
			up := b.Checks["uptime"]
			if len(up) != 1 || up[0].ObservedValue != 90 || up[0].ObservedUnit != "s" || up[0].ComponentType != "system" {
				t.Fatalf("uptime = %+v; want 90 s", up)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("liveness ran a check %d times", n)
	}
	rec := httptest.NewRecorder()
	c.Liveness().ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/health", nil))
	if rec.Code != 200 {
		t.Fatalf("HEAD = %d", rec.Code)
	}
}
