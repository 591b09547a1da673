package metrics

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestHijackRecordedAs101 runs a websocket-style handshake over a real
// connection: the handler hijacks and writes the 101 itself, as gorilla
// websocket does.
func TestHijackRecordedAs101(t *testing.T) {
	m, reg := newTestMiddleware(t)
	done := make(chan struct{})
	inner := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
	}))
	// done closes once the middleware has recorded the request.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 101") {
		t.Fatalf("response line = %q, %v", line, err)
	}
	<-done
	if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status=101"); got != 1 {
		t.Errorf("counter{status=101} = %v; want 1", got)
	}
}

// TestUpgradeWriterStatus covers the upgrade path's bookkeeping without a
// hijack: a handler refusing the upgrade, or writing a body.
func TestUpgradeWriterStatus(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  string
		bytes   float64
	}{
		{"refused", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusContinue)
			w.WriteHeader(http.StatusBadRequest)
		}, "400", 0},
		{"101 written", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusSwitchingProtocols)
		}, "101", 0},
		{"body", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("ab"))
			_, _ = io.WriteString(w, "cd")
			_, _ = w.(io.ReaderFrom).ReadFrom(strings.NewReader("ef"))
		}, "200", 6},
		{"nothing", func(w http.ResponseWriter, r *http.Request) {}, "200", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newTestMiddleware(t)
			srv := httptest.NewServer(m.Handler(tt.handler))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "h2c-test")
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			srv.Close() // waits for the handler and the middleware to finish
			if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status="+tt.status); got != 1 {
				t.Errorf("counter{status=%s} = %v; want 1", tt.status, got)
			}
			size := metric(t, reg, ResponseSizeName, "endpoint=unmatched,method=GET").GetHistogram()
			if size.GetSampleSum() != tt.bytes {
				t.Errorf("size = %v; want %v", size.GetSampleSum(), tt.bytes)
			}
		})
	}
}

// TestWriterInterfaces checks that the optional interfaces of the server's
// writer survive the middleware, on HTTP/1.1 and HTTP/2, with and without
// an upgrade request.
func TestWriterInterfaces(t *testing.T) {
	type seen struct {
		flusher, hijacker, readerFrom, pusher bool
		flushErr, deadlineErr                 error
	}
	run := func(t *testing.T, http2, upgrade bool) seen {
		t.Helper()
		m, _ := newTestMiddleware(t)
		got := make(chan seen, 1)
		srv := httptest.NewUnstartedServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var s seen
			_, s.flusher = w.(http.Flusher)
			_, s.hijacker = w.(http.Hijacker)
			_, s.readerFrom = w.(io.ReaderFrom)
			_, s.pusher = w.(http.Pusher)
			rc := http.NewResponseController(w)
			s.deadlineErr = rc.SetWriteDeadline(time.Now().Add(time.Minute))
			_, _ = w.Write([]byte("x"))
			s.flushErr = rc.Flush()
			got <- s
		})))
		srv.EnableHTTP2 = http2
		srv.StartTLS()
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if upgrade {
			req.Header.Set("Upgrade", "test")
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if http2 && res.ProtoMajor != 2 {
			t.Fatalf("proto = %s; want HTTP/2", res.Proto)
		}
		return <-got
	}
	t.Run("http1", func(t *testing.T) {
		for _, upgrade := range []bool{false, true} {
			s := run(t, false, upgrade)
			if !s.flusher || !s.hijacker || !s.readerFrom || s.flushErr != nil || s.deadlineErr != nil {
				t.Errorf("upgrade=%v: %+v; want Flusher, Hijacker, ReaderFrom, working controller", upgrade, s)
			}
		}
	})
	t.Run("http2", func(t *testing.T) {
		s := run(t, true, false)
		if !s.flusher || !s.pusher || s.hijacker || s.flushErr != nil || s.deadlineErr != nil {
			t.Errorf("%+v; want Flusher, Pusher, no Hijacker, working controller", s)
		}
	})
}

func TestRecorderZero(t *testing.T) {
	var rec recorder
	if got := rec.written(); got != 0 {
		t.Errorf("written() = %d; want 0", got)
	}
	if got := rec.status(false); got != http.StatusOK {
		t.Errorf("status() = %d; want 200", got)
	}
	_ = prometheus.NewRegistry()
}
