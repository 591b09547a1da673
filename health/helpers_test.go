package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql and go-redis pools close their goroutines
		// asynchronously after Close.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).reaper"),
	)
}

func newFakeClock() *testenv.Clock {
	return testenv.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
}

func withNow(now func() time.Time) Option { return func(c *config) { c.now = now } }

// withTicker makes background mode tick on ch.
func withTicker(ch <-chan time.Time) Option {
	return func(c *config) {
		c.ticker = func(time.Duration) (<-chan time.Time, func()) { return ch, func() {} }
	}
}

// withAfter makes Shutdown's delay end when ch receives; waiting, when not
// nil, is signalled as the delay starts.
func withAfter(ch <-chan time.Time, waiting chan<- struct{}) Option {
	return func(c *config) {
		c.after = func(time.Duration) (<-chan time.Time, func()) {
			if waiting != nil {
				waiting <- struct{}{}
			}
			return ch, func() {}
		}
	}
}

func mustNew(t testing.TB, opts ...Option) *Checker {
	t.Helper()
	c, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func pass(context.Context) error { return nil }

func failWith(msg string) CheckFunc {
	return func(context.Context) error { return errorString(msg) }
}

type errorString string

func (e errorString) Error() string { return string(e) }

// get serves one GET of target through h.
func get(t testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// decode parses an IETF body.
func decode(t testing.TB, rec *httptest.ResponseRecorder) ietfBody {
	t.Helper()
	var b ietfBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return b
}
