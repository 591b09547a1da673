package jwtauth

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		err     error
		status  int
		wwwAuth string
	}{
		{ErrNoToken, 401, "Bearer"},
		{fmt.Errorf("%w: %w", ErrTokenInvalid, ErrUnknownKey), 401, `Bearer error="invalid_token"`},
		{ErrCSRF, 403, ""},
		{ErrForbidden, 403, `Bearer error="insufficient_scope"`},
		{errors.New("redis: connection refused"), 503, ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		writeError(w, httptest.NewRequest("GET", "/", nil), tt.err)
		if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.wwwAuth {
			t.Errorf("writeError(%v) = %d %q; want %d %q", tt.err, w.Code, w.Header().Get("WWW-Authenticate"), tt.status, tt.wwwAuth)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("writeError(%v): Cache-Control %q; want no-store", tt.err, w.Header().Get("Cache-Control"))
		}
		checkProblem(t, w, tt.status)
	}
}
