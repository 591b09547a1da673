package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve starts srv on a loopback port and returns its URL and a channel
// that yields Serve's error.
func serve(t *testing.T, srv *http.Server) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), done
}

func TestShutdownSequence(t *testing.T) {
	delay := make(chan time.Time)
	waiting := make(chan struct{})
	c := mustNew(t, withAfter(delay, waiting), WithCheck("database", pass))
	mux := http.NewServeMux()
	mux.Handle("GET /ready", c.Readiness())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	url, served := serve(t, srv)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	status := func() int {
		t.Helper()
		resp, err := client.Get(url + "/ready")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := status(); code != 200 {
		t.Fatalf("before shutdown: %d", code)
	}
	result := make(chan error, 1)
	go func() { result <- c.Shutdown(context.Background(), srv, 10*time.Second, 5*time.Second) }()
	// During the delay the server still serves, and readiness fails.
	<-waiting
	if code := status(); code != 503 {
		t.Fatalf("during delay: %d; want 503", code)
	}
	delay <- time.Time{}
	if err := <-result; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve = %v; want ErrServerClosed", err)
	}
}

func TestShutdownContextCutsDelay(t *testing.T) {
	c := mustNew(t, withAfter(make(chan time.Time), nil)) // the delay never ends by itself
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
	_, served := serve(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Shutdown(ctx, srv, time.Hour, time.Second); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	<-served
}

func TestShutdownDeadline(t *testing.T) {
	c := mustNew(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})}
	url, served := serve(t, srv)
	client := &http.Client{Transport: &http.Transport{}}
	go func() {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-entered
	err := c.Shutdown(context.Background(), srv, 0, 20*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "health: shutdown") {
		t.Fatalf("Shutdown = %v; want a deadline error", err)
	}
	close(release)
	<-served
	client.CloseIdleConnections()
}

func TestShutdownBadArguments(t *testing.T) {
	c := mustNew(t)
	srv := &http.Server{ReadHeaderTimeout: time.Second}
	tests := []struct {
		name           string
		srv            *http.Server
		delay, timeout time.Duration
	}{
		{"nil server", nil, 0, time.Second},
		{"negative delay", srv, -1, time.Second},
		{"zero timeout", srv, 0, 0},
	}
	for _, tt := range tests {
		if err := c.Shutdown(context.Background(), tt.srv, tt.delay, tt.timeout); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Shutdown = nil; want an error", tt.name)
		}
	}
	if c.Draining() {
		t.Fatal("a refused Shutdown drained readiness")
	}
}
