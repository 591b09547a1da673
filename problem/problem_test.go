package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBody(t *testing.T) {
	tests := []struct {
		status        int
		title, detail string
		want          string
	}{
		{404, "", "no such thing", `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such thing"}` + "\n"},
		{504, "Export timed out", "", `{"type":"about:blank","title":"Export timed out","status":504}` + "\n"},
		{400, "", `<b>"x"</b>`, `{"type":"about:blank","title":"Bad Request","status":400,"detail":"\u003cb\u003e\"x\"\u003c/b\u003e"}` + "\n"},
	}
	for _, tt := range tests {
		if got := string(Body(tt.status, tt.title, tt.detail)); got != tt.want {
			t.Errorf("Body(%d, %q, %q) = %q; want %q", tt.status, tt.title, tt.detail, got, tt.want)
		}
	}
}

func TestError(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Length", "99")
	rec.Header().Set("Retry-After", "1")
	Error(rec, http.StatusTooManyRequests, "slow down")
	want := map[string]string{
		"Content-Type":           ContentType,
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"Content-Length":         "",
		"Retry-After":            "1",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("header %s = %q; want %q", k, got, v)
		}
	}
	var p struct {
		Type, Title, Detail string
		Status              int
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 429 || p.Status != 429 || p.Title != "Too Many Requests" || p.Detail != "slow down" || p.Type != "about:blank" {
		t.Fatalf("Error() = %d %q (%v); want a 429 problem", rec.Code, rec.Body, err)
	}
	// A later Add must not write into the shared header values.
	rec.Header().Add("Cache-Control", "private")
	if hdrNoStore[0] != "no-store" || len(hdrNoStore) != 1 {
		t.Fatalf("shared header value changed: %q", hdrNoStore)
	}
}

func BenchmarkWrite(b *testing.B) {
	body := Body(http.StatusTooManyRequests, "", "slow down")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.Header())
		Write(w, http.StatusTooManyRequests, body)
		w.Body.Reset()
	}
}
