package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRetainedWriter: a handler that keeps its writer after returning (a
// goroutine finishing late) cannot reach another client's response, nor
// its own finished one. The late writes happen while another request is in
// flight on the same middleware, the moment a pooled writer would have
// been handed to it.
func TestRetainedWriter(t *testing.T) {
	m, _ := newTestMiddleware(t)
	kept := make(chan http.ResponseWriter, 1)
	inOther := make(chan struct{})
	proceed := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /keep", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("mine"))
		kept <- w // the bug under test: w outlives the handler
	})
	mux.HandleFunc("GET /other", func(w http.ResponseWriter, r *http.Request) {
		close(inOther)
		<-proceed
		_, _ = w.Write([]byte("yours"))
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	get := func(path string) (*http.Response, string) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return nil, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if _, body := get("/keep"); body != "mine" {
		t.Fatalf("/keep body = %q", body)
	}
	w := <-kept

	type result struct {
		resp *http.Response
		body string
	}
	other := make(chan result)
	go func() {
		resp, body := get("/other")
		other <- result{resp, body}
	}()
	<-inOther
	// /other is in flight: the kept writer must not reach it.
	if n, err := w.Write([]byte("LEAK")); n != 0 || !errors.Is(err, errReleased) {
		t.Errorf("kept Write = %d, %v; want 0, errReleased", n, err)
	}
	if n, err := io.WriteString(w, "LEAK"); n != 0 || err == nil {
		t.Errorf("kept WriteString = %d, %v; want 0 and an error", n, err)
	}
	w.Header().Set("X-Leak", "1")
	w.WriteHeader(http.StatusTeapot)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if err := http.NewResponseController(w).Flush(); err == nil {
		t.Error("ResponseController(kept).Flush() = nil; want an error")
	}
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok || u.Unwrap() != nil {
		t.Error("kept Unwrap() != nil")
	}
	close(proceed)
	res := <-other
	if res.resp == nil {
		t.FailNow()
	}
	if res.body != "yours" || res.resp.StatusCode != http.StatusOK || res.resp.Header.Get("X-Leak") != "" {
		t.Errorf("/other = %d %q (X-Leak %q); want 200 \"yours\" untouched", res.resp.StatusCode, res.body, res.resp.Header.Get("X-Leak"))
	}
}
