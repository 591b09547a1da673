package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUserID(t *testing.T) {
	withLog := func() context.Context { return context.WithValue(context.Background(), infoKey, &requestInfo{}) }
	tests := []struct {
		name      string
		outer     context.Context
		id        string
		wantInner string // from the context WithUserID returns
		wantOuter string // from the context it was given
	}{
		{"no id", context.Background(), "", "", ""},
		{"without access log", context.Background(), "u1", "u1", ""},
		{"inside access log", withLog(), "u2", "u2", "u2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := tt.outer
			if tt.id != "" {
				inner = WithUserID(tt.outer, tt.id)
			}
			if got := UserIDFromContext(inner); got != tt.wantInner {
				t.Errorf("UserIDFromContext(inner) = %q; want %q", got, tt.wantInner)
			}
			if got := UserIDFromContext(tt.outer); got != tt.wantOuter {
				t.Errorf("UserIDFromContext(outer) = %q; want %q", got, tt.wantOuter)
			}
		})
	}
}

// A request served inside the access log: the auth middleware's ID reaches
// both the handler further in and the log outside.
func TestUserIDThroughAccessLog(t *testing.T) {
	al, err := NewAccessLog(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner string
	h := al.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner = UserIDFromContext(r.Context())
		})
		auth.ServeHTTP(w, r.WithContext(WithUserID(r.Context(), "u4")))
		outer = UserIDFromContext(r.Context())
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if inner != "u4" || outer != "u4" {
		t.Errorf("inner %q, outer %q; want u4, u4", inner, outer)
	}
}
