package metrics

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// plainWriter has no optional interface at all.
type plainWriter struct{ http.ResponseWriter }

// flushOnly has Flusher and nothing else.
type flushOnly struct{ *httptest.ResponseRecorder }

// TestWriterMatrix checks, for every kind of server writer, that the
// wrapping writer offers exactly the optional interfaces the server's writer
// has, that Unwrap reaches it, and that http.ResponseController's Flush,
// Hijack, deadlines and full duplex work where the server's writer supports
// them and report http.ErrNotSupported where it does not.
func TestWriterMatrix(t *testing.T) {
	type caps struct {
		flusher, hijacker, readerFrom, pusher, stringWriter bool
	}
	capsOf := func(w http.ResponseWriter) caps {
		var c caps
		_, c.flusher = w.(http.Flusher)
		_, c.hijacker = w.(http.Hijacker)
		_, c.readerFrom = w.(io.ReaderFrom)
		_, c.pusher = w.(http.Pusher)
		_, c.stringWriter = w.(io.StringWriter)
		return c
	}
	// check runs inside the handler with the server's writer (inner) and
	// the one the middleware passed (w).
	check := func(t *testing.T, inner, w http.ResponseWriter, wantDeadline bool) {
		t.Helper()
		got, want := capsOf(w), capsOf(inner)
		want.stringWriter = true // the wrapping writer always has WriteString
		if got != want {
			t.Errorf("interfaces = %+v; want %+v (server's writer: %T)", got, want, inner)
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok || u.Unwrap() != inner {
			t.Errorf("Unwrap() does not return the server's writer %T", inner)
		}
		rc := http.NewResponseController(w)
		_, _ = io.WriteString(w, "x")
		err := rc.Flush()
		if _, ok := inner.(http.Flusher); ok != (err == nil) {
			t.Errorf("ResponseController.Flush() = %v; server's writer Flusher = %v", err, ok)
		}
		if err != nil && !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("ResponseController.Flush() = %v; want ErrNotSupported", err)
		}
		err = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		if (err == nil) != wantDeadline {
			t.Errorf("ResponseController.SetWriteDeadline() = %v; want supported=%v", err, wantDeadline)
		}
	}

	t.Run("no optional interfaces", func(t *testing.T) {
		m, reg := newTestMiddleware(t)
		var inner http.ResponseWriter
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			check(t, inner, w, false)
			w.WriteHeader(http.StatusAccepted) // ignored: the body was written
		}))
		rec := httptest.NewRecorder()
		inner = plainWriter{rec}
		h.ServeHTTP(inner, httptest.NewRequest(http.MethodGet, "/", nil))
		if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status=200"); got != 1 {
			t.Errorf("counter{status=200} = %v; want 1", got)
		}
	})
	t.Run("Flusher only", func(t *testing.T) {
		m, _ := newTestMiddleware(t)
		var inner http.ResponseWriter
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			check(t, inner, w, false)
		}))
		inner = flushOnly{httptest.NewRecorder()}
		h.ServeHTTP(inner, httptest.NewRequest(http.MethodGet, "/", nil))
	})
	for _, tc := range []struct {
		name           string
		http2, upgrade bool
	}{
		{"HTTP/1.1", false, false},
		{"HTTP/1.1 upgrade request", false, true},
		{"HTTP/2", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestMiddleware(t)
			var mu sync.Mutex
			var inner http.ResponseWriter
			grab := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					inner = w
					mu.Unlock()
					next.ServeHTTP(w, r)
				})
			}
			srv := httptest.NewUnstartedServer(grab(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				check(t, inner, w, true)
				if !tc.http2 {
					if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
						t.Errorf("EnableFullDuplex() = %v", err)
					}
				}
			}))))
			srv.EnableHTTP2 = tc.http2
			srv.StartTLS()
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			if tc.upgrade {
				req.Header.Set("Upgrade", "test")
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if want := map[bool]int{false: 1, true: 2}[tc.http2]; res.ProtoMajor != want {
				t.Fatalf("proto = %s; want HTTP/%d", res.Proto, want)
			}
		})
	}
}

// TestWriterHijack hijacks an ordinary (non-upgrade) HTTP/1 request
// through http.ResponseController: the wrapping writer passes the hijack to
// the connection.
func TestWriterHijack(t *testing.T) {
	m, _ := newTestMiddleware(t)
	done := make(chan struct{})
	inner := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(*h1Writer); !ok {
			t.Errorf("writer = %T; want the pooled HTTP/1 writer", w)
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
		_ = brw.Flush()
	}))
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
	_, _ = io.WriteString(conn, "GET /raw HTTP/1.1\r\nHost: x\r\n\r\n")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 204") {
		t.Fatalf("response line = %q, %v", line, err)
	}
	<-done
}

// TestWriterReuse serves requests one after another on one connection:
// status and size start afresh for each, including for bodies sent
// through io.ReaderFrom and WriteString.
func TestWriterReuse(t *testing.T) {
	m, reg := newTestMiddleware(t)
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "short and stout") // 15 bytes
		case "/readfrom":
			_, _ = w.(io.ReaderFrom).ReadFrom(strings.NewReader(strings.Repeat("y", 1000)))
		case "/early-hints":
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		default:
			// nothing written: implicit 200, 0 bytes
		}
	})))
	defer srv.Close()
	paths := []string{"/teapot", "/readfrom", "/", "/early-hints"}
	for range 5 {
		for _, p := range paths {
			res, err := srv.Client().Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	for _, c := range []struct {
		status string
		count  float64
	}{{"418", 5}, {"200", 10}, {"201", 5}} {
		if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status="+c.status); got != c.count {
			t.Errorf("counter{status=%s} = %v; want %v", c.status, got, c.count)
		}
	}
	size := metric(t, reg, ResponseSizeName, "endpoint=unmatched,method=GET")
	if size == nil {
		t.Fatalf("no %s series", ResponseSizeName)
	}
	if got, want := size.GetHistogram().GetSampleSum(), float64(5*(15+1000)); got != want {
		t.Errorf("response size sum = %v; want %v", got, want)
	}
}

// TestWriterConcurrent runs many requests at once under -race: a
// writer is never shared by two requests in flight.
func TestWriterConcurrent(t *testing.T) {
	m, reg := newTestMiddleware(t)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = w.Write([]byte(r.URL.Path))
	}))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				path := "/ok"
				if (i+j)%2 == 0 {
					path = "/missing"
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			}
		})
	}
	wg.Wait()
	if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status=404"); got != 800 {
		t.Errorf("counter{status=404} = %v; want 800", got)
	}
	if got := counterValue(t, reg, "endpoint=unmatched,method=GET,status=200"); got != 800 {
		t.Errorf("counter{status=200} = %v; want 800", got)
	}
}
