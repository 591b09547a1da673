package app

import (
	"net/http"
	"sync/atomic"
	"time"
)

// shedder bounds the requests in flight. Beyond limit, up to backlog
// requests wait at most wait for a slot; the rest, and those whose wait
// runs out, get a fast 503 with Retry-After instead of piling up behind a
// slow dependency until the pod runs out of memory. chi's Throttle does the
// same but answers in plain text; this one speaks problem+json like every
// other error of the service. Safe for concurrent use.
type shedder struct {
	slots   chan struct{}
	waiting atomic.Int64
	backlog int64
	wait    time.Duration
}

func newShedder(limit, backlog int, wait time.Duration) *shedder {
	return &shedder{slots: make(chan struct{}, limit), backlog: int64(backlog), wait: wait}
}

// Handler sheds load in front of next.
func (s *shedder) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
		default:
			if !s.queue(r) {
				w.Header().Set("Retry-After", "1")
				writeProblem(w, http.StatusServiceUnavailable, "the service is busy; retry shortly")
				return
			}
		}
		defer func() { <-s.slots }()
		next.ServeHTTP(w, r)
	})
}

// queue waits in the backlog for a slot and reports whether it got one.
func (s *shedder) queue(r *http.Request) bool {
	if s.wait <= 0 {
		return false
	}
	if s.waiting.Add(1) > s.backlog {
		s.waiting.Add(-1)
		return false
	}
	defer s.waiting.Add(-1)
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-r.Context().Done():
		return false
	}
}
