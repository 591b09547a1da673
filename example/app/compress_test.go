package app

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestCompression checks which responses are compressed and that the user
// list's cache keeps them compressed: a hit is the stored gzip body, and a
// client that accepts no encoding gets its own identity variant.
func TestCompression(t *testing.T) {
	s := startServer(t, baseEnv(t))
	var set struct {
		AccessToken string `json:"access_token"`
	}
	r := s.do("POST", "/auth/login", "", "", map[string]string{"username": s.admin, "password": s.adminPW})
	want(t, "login", r, 200)
	r.json(t, &set)

	get := func(path, encoding string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+set.AccessToken)
		if encoding != "" {
			// Set by hand, the Transport leaves the body as sent.
			req.Header.Set("Accept-Encoding", encoding)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	gunzip := func(what string, b []byte) []byte {
		t.Helper()
		zr, err := gzip.NewReader(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("%s: not gzip: %v", what, err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return out
	}
	const list = "/api/v1/users?limit=100"
	tests := []struct {
		name, path, encoding string
		wantEncoding         string
		wantCache            string
	}{
		{"list, first gzip read", list, "gzip", "gzip", "MISS"},
		{"list, second gzip read", list, "gzip", "gzip", "HIT"},
		{"list, identity", list, "identity", "", "MISS"},
		{"list, identity again", list, "identity", "", "HIT"},
		{"list, gzip after identity", list, "gzip", "gzip", "HIT"},
		{"export", "/export/users.csv", "gzip", "gzip", ""},
		{"openapi", "/openapi.yaml", "gzip", "gzip", ""},
		{"small body", "/api/v1/users/1", "gzip", "", ""},
		{"problem", "/nowhere", "gzip", "", ""},
	}
	var plain []byte
	for _, tt := range tests {
		res, b := get(tt.path, tt.encoding)
		if got := res.Header.Get("Content-Encoding"); got != tt.wantEncoding {
			t.Errorf("%s: Content-Encoding %q; want %q", tt.name, got, tt.wantEncoding)
			continue
		}
		if got := res.Header.Get("X-Cache"); got != tt.wantCache {
			t.Errorf("%s: X-Cache %q; want %q", tt.name, got, tt.wantCache)
		}
		if tt.wantEncoding == "gzip" {
			b = gunzip(tt.name, b)
		}
		if tt.path != list {
			continue
		}
		if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept-Encoding") {
			t.Errorf("%s: Vary %q; want Accept-Encoding listed", tt.name, res.Header.Values("Vary"))
		}
		var page usersPage
		if err := json.Unmarshal(b, &page); err != nil || len(page.Users) == 0 {
			t.Errorf("%s: page %q: %v", tt.name, b, err)
		}
		if plain == nil {
			plain = b
		} else if string(b) != string(plain) {
			t.Errorf("%s: body differs from the first read's", tt.name)
		}
	}
}
