package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
)

// hookRecorder collects the failures an error hook receives.
type hookRecorder struct {
	mu       sync.Mutex
	failures []Failure
}

func (h *hookRecorder) hook(_ context.Context, f Failure) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = append(h.failures, f)
}

func (h *hookRecorder) all() []Failure {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Failure(nil), h.failures...)
}

var errDatabase = errors.New("database is down")

func TestErrorHook(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantReport bool
		wantStatus int
		wantErr    string
		wantStack  bool
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) {}, false, 0, "", false},
		{"client error", func(w http.ResponseWriter, r *http.Request) {
			RecordError(r.Context(), errDatabase)
			w.WriteHeader(http.StatusNotFound)
		}, false, 0, "", false},
		{"recorded error", func(w http.ResponseWriter, r *http.Request) {
			RecordError(r.Context(), nil)
			RecordError(r.Context(), errDatabase)
			RecordError(r.Context(), errors.New("second"))
			w.WriteHeader(http.StatusServiceUnavailable)
		}, true, http.StatusServiceUnavailable, errDatabase.Error(), false},
		{"status only", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}, true, http.StatusBadGateway, "status 502 Bad Gateway", false},
		{"panic", func(w http.ResponseWriter, r *http.Request) {
			panic("boom")
		}, true, http.StatusInternalServerError, "panic: boom", true},
		{"abort", func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		}, false, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec hookRecorder
			m, _ := newTestMiddleware(t, WithErrorHook(rec.hook))
			r := chi.NewRouter()
			r.Use(RequestID)
			r.Use(m.Handler)
			r.Use(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next.ServeHTTP(w, r.WithContext(WithUserID(r.Context(), "u-7")))
				})
			})
			r.Get("/things/{id}", tt.handler)
			req := httptest.NewRequest(http.MethodGet, "/things/42?password=hunter2", nil)
			req.Header.Set(RequestIDHeader, "req-1")
			req.Header.Set("Authorization", "Bearer secret")
			func() {
				defer func() { _ = recover() }()
				r.ServeHTTP(httptest.NewRecorder(), req)
			}()
			got := rec.all()
			if !tt.wantReport {
				if len(got) != 0 {
					t.Fatalf("hook called with %+v; want no call", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("hook called %d times; want 1", len(got))
			}
			f := got[0]
			if f.Method != "GET" || f.Route != "/things/{id}" || f.Status != tt.wantStatus ||
				f.RequestID != "req-1" || f.UserID != "u-7" || f.TraceID != "" {
				t.Errorf("failure = %+v; want GET /things/{id} %d req-1 u-7", f, tt.wantStatus)
			}
			if f.Err == nil || f.Err.Error() != tt.wantErr {
				t.Errorf("failure error = %v; want %q", f.Err, tt.wantErr)
			}
			if (len(f.Stack) > 0) != tt.wantStack {
				t.Errorf("stack present = %v; want %v", len(f.Stack) > 0, tt.wantStack)
			}
			if tt.wantStack && !strings.Contains(string(f.Stack), "failure_test.go") {
				t.Errorf("stack does not show where the panic was raised:\n%s", f.Stack)
			}
		})
	}
}

func TestPanicErrorUnwrap(t *testing.T) {
	err := error(&PanicError{Value: errDatabase})
	if !errors.Is(err, errDatabase) {
		t.Errorf("errors.Is(%v, errDatabase) = false; want true", err)
	}
	if (&PanicError{Value: 3}).Unwrap() != nil {
		t.Error("Unwrap of a non-error panic value is not nil")
	}
}

func TestRecordErrorOutsideMiddleware(t *testing.T) {
	RecordError(context.Background(), errDatabase) // must not panic
}

// TestErrorHookSharesAccessLogInfo checks that a user ID reported inside
// reaches both an outer access log and the failure.
func TestErrorHookSharesAccessLogInfo(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	al, err := NewAccessLog(logger)
	if err != nil {
		t.Fatal(err)
	}
	var rec hookRecorder
	m, _ := newTestMiddleware(t, WithErrorHook(rec.hook))
	h := al.Handler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = WithUserID(r.Context(), "u-9")
		w.WriteHeader(http.StatusInternalServerError)
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(buf.String(), `"user_id":"u-9"`) {
		t.Errorf("access log %s lacks the user ID", buf.String())
	}
	got := rec.all()
	if len(got) != 1 || got[0].UserID != "u-9" || got[0].RequestID == "" {
		t.Errorf("failures = %+v; want one with user u-9 and a request ID", got)
	}
}

// fakeTracer is a Tracer that records what the middleware tells it.
type fakeTracer struct {
	mu   sync.Mutex
	ends []RequestEnd
	id   string
}

type fakeSpanKey struct{}

func (f *fakeTracer) Start(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, fakeSpanKey{}, r.Method)
}

func (f *fakeTracer) End(ctx context.Context, e RequestEnd) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Value(fakeSpanKey{}) == nil {
		panic("End without the context of Start")
	}
	f.ends = append(f.ends, e)
	return f.id
}

func TestTracer(t *testing.T) {
	ft := &fakeTracer{id: "4bf92f3577b34da6a3ce929d0e0736ae"}
	m, reg := newTestMiddleware(t, WithTracer(ft))
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(fakeSpanKey{}) == nil {
			t.Error("handler context lacks the span")
		}
		if r.URL.Query().Get("fail") != "" {
			RecordError(r.Context(), errDatabase)
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	r.Get("/panic", func(w http.ResponseWriter, r *http.Request) { panic(errDatabase) })
	serve(r, http.MethodGet, "/users/1")
	serve(r, http.MethodGet, "/users/2?fail=1")
	func() {
		defer func() {
			if v := recover(); v != errDatabase {
				t.Errorf("re-raised panic = %v; want the original value", v)
			}
		}()
		serve(r, http.MethodGet, "/panic")
	}()
	want := []struct {
		route  string
		status int
		err    string
	}{
		{"/users/{id}", 200, ""},
		{"/users/{id}", 500, errDatabase.Error()},
		{"/panic", 500, "panic: " + errDatabase.Error()},
	}
	if len(ft.ends) != len(want) {
		t.Fatalf("End called %d times; want %d", len(ft.ends), len(want))
	}
	for i, w := range want {
		e := ft.ends[i]
		errText := ""
		if e.Err != nil {
			errText = e.Err.Error()
		}
		if e.Method != "GET" || e.Route != w.route || e.Status != w.status || errText != w.err {
			t.Errorf("End #%d = %+v; want GET %s %d %q", i, e, w.route, w.status, w.err)
		}
	}
	mf := metric(t, reg, DurationName, "endpoint=/users/{id},method=GET")
	if mf == nil {
		t.Fatal("no duration series")
	}
	found := false
	for _, b := range mf.GetHistogram().GetBucket() {
		if ex := b.GetExemplar(); ex != nil && ex.GetLabel()[0].GetValue() == ft.id {
			found = true
		}
	}
	if !found {
		t.Error("duration histogram carries no exemplar with the tracer's trace ID")
	}
}

func TestTracerTraceIDOptionWins(t *testing.T) {
	ft := &fakeTracer{id: "from-tracer"}
	var hook hookRecorder
	m, _ := newTestMiddleware(t, WithTracer(ft), WithErrorHook(hook.hook),
		WithTraceID(func(context.Context) string { return "from-option" }),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	serve(h, http.MethodGet, "/")
	if got := hook.all(); len(got) != 1 || got[0].TraceID != "from-option" {
		t.Errorf("failures = %+v; want trace ID from-option", got)
	}
}
