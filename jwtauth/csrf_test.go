package jwtauth

import (
	"errors"
	"testing"
)

func TestCheckCSRF(t *testing.T) {
	a, _ := newTestAuth(t, WithTrustedOrigins("https://app.example.com"))
	claims := &Claims{CSRF: csrfBinding("the-token")}
	tests := []struct {
		name string
		req  req
		c    *Claims
		ok   bool
	}{
		{"GET needs no token", req{method: "GET"}, claims, true},
		{"HEAD needs no token", req{method: "HEAD"}, claims, true},
		{"OPTIONS needs no token", req{method: "OPTIONS"}, claims, true},
		{"POST with token", req{method: "POST", csrf: "the-token"}, claims, true},
		{"PUT with wrong token", req{method: "PUT", csrf: "the-tokeN"}, claims, false},
		{"PATCH without token", req{method: "PATCH"}, claims, false},
		{"POST on a token without binding", req{method: "POST", csrf: "the-token"}, &Claims{}, false},
		{"POST from a trusted origin", req{method: "POST", csrf: "the-token", headers: map[string]string{"Origin": "https://app.example.com", "Sec-Fetch-Site": "cross-site"}}, claims, true},
		{"POST from another site", req{method: "POST", csrf: "the-token", headers: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}, claims, false},
		{"POST same-site (sibling subdomain)", req{method: "POST", csrf: "the-token", headers: map[string]string{"Sec-Fetch-Site": "same-site"}}, claims, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.checkCSRF(tt.req.build(), tt.c)
			if (err == nil) != tt.ok {
				t.Fatalf("checkCSRF(%s) = %v; want ok=%v", tt.name, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrCSRF) {
				t.Errorf("checkCSRF(%s) = %v; want ErrCSRF", tt.name, err)
			}
		})
	}
}

func TestCSRFBindingIsNotTheToken(t *testing.T) {
	if b := csrfBinding("abc"); b == "abc" || len(b) != 43 {
		t.Errorf("csrfBinding(abc) = %q; want a 43-byte hash", b)
	}
}

func TestCheckOrigin(t *testing.T) {
	a, _ := newTestAuth(t)
	for _, tt := range []struct {
		name string
		req  req
		ok   bool
	}{
		{"same origin", req{method: "POST", headers: map[string]string{"Sec-Fetch-Site": "same-origin"}}, true},
		{"non-browser client", req{method: "POST"}, true},
		{"cross-site POST", req{method: "POST", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}}, false},
		{"cross-site GET", req{method: "GET", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}}, true},
	} {
		if err := a.CheckOrigin(tt.req.build()); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrCSRF)) {
			t.Errorf("CheckOrigin(%s) = %v; want ok=%v", tt.name, err, tt.ok)
		}
	}
}
