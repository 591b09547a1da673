package metrics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// csvExport streams rows until the client goes away (a write fails or
// the request's context ends) or rows are exhausted.
func csvExport(rows int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		rc := http.NewResponseController(w)
		line := []byte(strings.Repeat("x", 1000) + "\n")
		for i := 0; i < rows; i++ {
			if _, err := w.Write(line); err != nil {
				return
			}
			if err := rc.Flush(); err != nil || r.Context().Err() != nil {
				return
			}
		}
	}
}

// TestAbortedDownload serves a CSV export over a real connection to a
// client that reads the first bytes and hangs up: the request is logged
// with aborted=true and counted with outcome="aborted", not as a plain
// 200; a download read to the end is completed.
func TestAbortedDownload(t *testing.T) {
	for _, tt := range []struct {
		name    string
		hangUp  bool
		outcome string
	}{
		{"client hangs up", true, OutcomeAborted},
		{"read to the end", false, OutcomeCompleted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			m, reg := newTestMiddleware(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			mux := http.NewServeMux()
			rows := 1 << 20 // far more than socket buffers hold: only a hang-up ends it early
			if !tt.hangUp {
				rows = 50
			}
			mux.Handle("GET /export.csv", csvExport(rows))
			done := make(chan struct{})
			h := m.Handler(mux)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()

			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "GET /export.csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			br := bufio.NewReader(conn)
			status, err := br.ReadString('\n')
			if err != nil || !strings.Contains(status, "200") {
				t.Fatalf("status line %q, %v", status, err)
			}
			if tt.hangUp {
				if _, err := br.Peek(4096); err != nil {
					t.Fatal(err)
				}
				conn.Close()
			} else {
				if _, err := io.ReadAll(br); err != nil {
					t.Fatal(err)
				}
				conn.Close()
			}
			<-done

			var line map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if got, want := line["aborted"] == true, tt.hangUp; got != want {
				t.Errorf("log aborted = %v; want %v (line %v)", line["aborted"], want, line)
			}
			if line["status"] != float64(200) {
				t.Errorf("log status = %v; want 200 (the status sent)", line["status"])
			}
			labels := "endpoint=/export.csv,method=GET,status=200"
			if tt.outcome == OutcomeAborted {
				labels = "endpoint=/export.csv,method=GET,outcome=aborted,status=200"
			}
			if got := counterValue(t, reg, labels); got != 1 {
				t.Errorf("counter{%s} = %v; want 1", labels, got)
			}
		})
	}
}

// TestAbortHandlerPanic: http.ErrAbortHandler is the deliberate abort,
// counted as aborted (when panics are watched).
func TestAbortHandlerPanic(t *testing.T) {
	m, reg := newTestMiddleware(t, WithErrorHook(func(context.Context, Failure) {}))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		panic(http.ErrAbortHandler)
	}))
	func() {
		defer func() { _ = recover() }()
		serve(h, http.MethodGet, "/x")
	}()
	if got := counterValue(t, reg, "endpoint=unmatched,method=GET,outcome=aborted,status=200"); got != 1 {
		t.Errorf("counter = %v; want 1", got)
	}
}
