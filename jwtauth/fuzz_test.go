package jwtauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary strings to the parsing entry point: it must
// never panic, never accept a token it did not sign, and refuse anything over
// the size cap before parsing.
func FuzzVerify(f *testing.F) {
	a, _ := newTestAuth(f)
	token, _ := mustSign(f, a, userClaims("u1"))
	parts := strings.Split(token, ".")
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c", token, token + "x", parts[0] + "..", parts[0] + "." + parts[1] + ".",
		"eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA", strings.Repeat("A", 5000),
		"eyJhbGciOiJIUzI1NiIsImtpZCI6eyJhIjoxfX0.e30.x", "\x00\xff.\x00.\x00",
	} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		c, err := a.Verify(ctx, s)
		if err == nil {
			// Accepted: it must be exactly what the key signs, in canonical
			// encoding (no second spelling of one signature).
			i := strings.LastIndexByte(s, '.')
			sig, serr := jwt.SigningMethodHS256.Sign(s[:i], testSecret)
			if serr != nil || base64.RawURLEncoding.EncodeToString(sig) != s[i+1:] || c.Subject != "u1" {
				t.Fatalf("Verify accepted a token the key did not sign: %q", s)
			}
			return
		}
		if len(s) > defaultMaxTokenSize && !errors.Is(err, ErrTokenTooLarge) {
			t.Fatalf("Verify(%d bytes) = %v; want ErrTokenTooLarge", len(s), err)
		}
		if s != "" && !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("Verify(%q) = %v; want ErrTokenInvalid", s, err)
		}
	})
}

func TestOversizedTokenIsNotParsed(t *testing.T) {
	a, _ := newTestAuth(t)
	huge := strings.Repeat("eyJh.", 1<<18)
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 20 {
		_, _ = a.Verify(ctx, huge)
	}
	runtime.ReadMemStats(&after)
	if perCall := (after.TotalAlloc - before.TotalAlloc) / 20; perCall > 1024 {
		t.Errorf("Verify(1 MiB) allocated %d bytes per call; want ≤1 KiB (refused before parsing)", perCall)
	}
}

// FuzzSplitRefresh checks the refresh token parser accepts only
// "<22 base64url>.<43 base64url>".
func FuzzSplitRefresh(f *testing.F) {
	for _, s := range []string{"", ".", "a.b", randomToken(familyBytes) + "." + randomToken(secretBytes), strings.Repeat("A", 22) + "." + strings.Repeat("_", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fam, ok := splitRefresh(s)
		if !ok {
			return
		}
		if len(s) != 66 || s[22] != '.' || fam != s[:22] {
			t.Fatalf("splitRefresh(%q) accepted family %q", s, fam)
		}
	})
}

// FuzzLoginBody feeds arbitrary bodies to the login handler: it must answer
// 400, 401, 413 or 415, never panic, and call the check only for a body of
// exactly the two string members.
func FuzzLoginBody(f *testing.F) {
	for _, s := range []string{`{"username":"ada","password":"x"}`, `{"username":"a","username":"b"}`, `{"Username":"a","password":"x"}`,
		`{"username":"ada","password":"x"}{}`, `[]`, `{"username":"\ud800","password":"x"}`, "\xff"} {
		f.Add(s)
	}
	a, _ := newTestAuth(f, WithoutCookies())
	h, err := a.LoginHandler(func(_ context.Context, username, password string) (Claims, error) {
		if username == "" || password == "" {
			panic("check called without both members")
		}
		return Claims{}, ErrInvalidCredentials
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 400, 401, 413, 415:
		default:
			t.Errorf("login(%q) = %d; want 400, 401, 413 or 415", body, w.Code)
		}
	})
}
