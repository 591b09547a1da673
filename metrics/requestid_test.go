package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestValidRequestID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"", false},
		{"a", true},
		{"4bf92f35-77b3-4da6-a3ce-929d0e0e4736", true},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=x", false},
		{"abc+/=@:._-XYZ09", true},
		{strings.Repeat("a", MaxRequestIDLen), true},
		{strings.Repeat("a", MaxRequestIDLen+1), false},
		{"has space", false},
		{"new\nline", false},
		{"quote\"", false},
		{"naïve", false},
		{"<script>", false},
	}
	for _, tt := range tests {
		if got := ValidRequestID(tt.id); got != tt.want {
			t.Errorf("ValidRequestID(%q) = %v; want %v", tt.id, got, tt.want)
		}
	}
}

func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewRequestID()
		if !ValidRequestID(id) || len(id) != 26 || seen[id] {
			t.Fatalf("NewRequestID() = %q: invalid or repeated", id)
		}
		seen[id] = true
	}
}

func TestRequestIDMiddleware(t *testing.T) {
	tests := []struct {
		name, incoming string
		keep           bool
	}{
		{"none", "", false},
		{"well-formed", "abc-123", true},
		{"malformed", "abc 123", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inner string
			h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inner = RequestIDFromContext(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.incoming != "" {
				req.Header.Set(RequestIDHeader, tt.incoming)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			echoed := w.Header().Get(RequestIDHeader)
			if echoed != inner || !ValidRequestID(echoed) || (echoed == tt.incoming) != tt.keep {
				t.Errorf("incoming %q: echoed %q, inner %q; keep = %v", tt.incoming, echoed, inner, tt.keep)
			}
		})
	}
	// An ID already in the context wins.
	var inner string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = RequestIDFromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(WithRequestID(req.Context(), "from-ctx"))
	req.Header.Set(RequestIDHeader, "from-header")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if inner != "from-ctx" || w.Header().Get(RequestIDHeader) != "from-ctx" {
		t.Errorf("inner %q, echoed %q; want from-ctx", inner, w.Header().Get(RequestIDHeader))
	}
	if got := RequestIDFromContext(context.Background()); got != "" {
		t.Errorf("RequestIDFromContext(empty) = %q; want \"\"", got)
	}
}

func FuzzValidRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "4bf92f35-77b3", "\x00", "é", strings.Repeat("z", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidRequestID(id) {
			return
		}
		if len(id) > MaxRequestIDLen {
			t.Fatalf("accepted %d bytes", len(id))
		}
		for _, c := range []byte(id) {
			if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'\\<>;,{}[]()%&#?`|*$!^~", c) >= 0 {
				t.Fatalf("accepted %q with byte %q", id, c)
			}
		}
	})
}
