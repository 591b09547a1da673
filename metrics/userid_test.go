package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUserID(t *testing.T) {
	ctx := context.Background()
	if got := UserIDFromContext(ctx); got != "" {
		t.Errorf("UserIDFromContext(empty) = %q; want \"\"", got)
	}
	if got := UserIDFromContext(WithUserID(ctx, "u1")); got != "u1" {
		t.Errorf("UserIDFromContext = %q; want u1", got)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if SetUserID(r, "u2") {
		t.Errorf("SetUserID without an access log = true; want false")
	}
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), infoKey, info))
	if !SetUserID(r, "u3") {
		t.Errorf("SetUserID with an access log = false; want true")
	}
	if got := UserIDFromContext(r.Context()); got != "u3" {
		t.Errorf("UserIDFromContext after SetUserID = %q; want u3", got)
	}
	inner := WithUserID(r.Context(), "u4")
	if got, outer := UserIDFromContext(inner), UserIDFromContext(r.Context()); got != "u4" || outer != "u4" {
		t.Errorf("after WithUserID: inner %q, outer %q; want u4, u4", got, outer)
	}
}
