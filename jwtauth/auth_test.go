package jwtauth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
	"github.com/golang-jwt/jwt/v5"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// newClock starts at the real time so that stores with their own clock
// agree with it.
func newClock() *testenv.Clock { return testenv.NewClock(time.Now().Truncate(time.Second)) }

func testKey(t testing.TB, id string, secret []byte) Key {
	t.Helper()
	k, err := HS256Key(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testRing(t testing.TB, current Key, previous ...Key) *KeyRing {
	t.Helper()
	r, err := NewKeyRing(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newTestAuth returns an Auth on key "k1" with issuer "covet", audience
// "api" and the returned clock.
func newTestAuth(t testing.TB, opts ...Option) (*Default, *testenv.Clock) {
	t.Helper()
	clk := newClock()
	opts = append([]Option{WithIssuer("covet"), WithAudience("api"), WithClock(clk.Now)}, opts...)
	a, err := New[Claims](testRing(t, testKey(t, "k1", testSecret)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a, clk
}

func newMemoryStore(t testing.TB, opts ...Option) *MemoryStore {
	t.Helper()
	m, err := NewMemoryStore(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func userClaims(sub string, roles ...string) Claims {
	c := Claims{Username: "name-" + sub, Roles: roles}
	c.Subject = sub
	return c
}

func mustSign(t testing.TB, a *Default, c Claims) (token, csrf string) {
	t.Helper()
	token, csrf, err := a.sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return token, csrf
}

// mint signs arbitrary header fields and claims, for tokens this package
// would never issue.
func mint(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	ring := testRing(t, testKey(t, "k1", testSecret))
	tests := []struct {
		name string
		opts []Option
	}{
		{"zero access TTL", []Option{WithAccessTTL(0)}},
		{"access TTL over a day", []Option{WithAccessTTL(25 * time.Hour)}},
		{"refresh shorter than access", []Option{WithAccessTTL(time.Hour), WithRefreshTTL(time.Minute)}},
		{"negative leeway", []Option{WithLeeway(-time.Second)}},
		{"leeway over 60s", []Option{WithLeeway(61 * time.Second)}},
		{"tiny token cap", []Option{WithMaxTokenSize(100)}},
		{"huge token cap", []Option{WithMaxTokenSize(1 << 20)}},
		{"empty audience", []Option{WithAudience("api", "")}},
		{"empty cookie name", []Option{WithCookies("", "r", "c")}},
		{"bad cookie name", []Option{WithCookies("a;b", "r", "c")}},
		{"duplicate cookie names", []Option{WithCookies("a", "a", "c")}},
		{"__Host- refresh with a path", []Option{WithRefreshCookiePath("/auth/refresh")}},
		{"relative refresh path", []Option{WithCookies("a", "r", "c"), WithRefreshCookiePath("auth")}},
		{"bad trusted origin", []Option{WithTrustedOrigins("not a url")}},
		{"fail open without a denylist", []Option{WithDenylistFailOpen()}},
		{"cookie names without cookies", []Option{WithoutCookies(), WithCookies("a", "r", "c")}},
		{"refresh cookie path without cookies", []Option{WithRefreshCookiePath("/"), WithoutCookies()}},
		{"trusted origins without cookies", []Option{WithoutCookies(), WithTrustedOrigins("https://app.example.com")}},
		{"refresh TTL without a refresh store", []Option{WithRefreshTTL(time.Hour)}},
		{"nil refresh store", []Option{WithRefreshStore(nil)}},
		{"typed nil refresh store", []Option{WithRefreshStore((*MemoryStore)(nil))}},
		{"typed nil denylist", []Option{WithDenylist((*MemoryStore)(nil))}},
		{"nil error handler", []Option{WithErrorHandler(nil)}},
		{"nil clock", []Option{WithClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New[Claims](ring, tt.opts...); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New(%s) = %v; want ErrInvalidConfig", tt.name, err)
			}
		})
	}
	if _, err := New[Claims](nil); !errors.Is(err, ErrInvalidConfig) {
		t.Error("New(nil ring) = nil error; want an error")
	}
	a, _ := New[Claims](ring)
	if err := a.SetKeyRing(nil); err == nil {
		t.Error("SetKeyRing(nil) = nil error; want an error")
	}
	for _, ok := range [][]Option{
		{WithLeeway(maxLeeway), WithCookies("a", "r", "c"), WithRefreshCookiePath("/auth/refresh"),
			WithTrustedOrigins("https://app.example.com"), WithMaxTokenSize(8192)},
		{WithoutCookies(), WithRefreshStore(newMemoryStore(t)), WithRefreshTTL(time.Hour)},
	} {
		if _, err := New[Claims](ring, ok...); err != nil {
			t.Errorf("New(valid options) = %v; want nil", err)
		}
	}
}

func TestVerifyRejections(t *testing.T) {
	a, clk := newTestAuth(t)
	edPub, edPriv, _ := ed25519.GenerateKey(nil)
	edKey, err := EdDSAKey("ed", edPriv)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetKeyRing(testRing(t, testKey(t, "k1", testSecret), testKey(t, "k0", []byte("previous-secret-previous-secret-!")), edKey)); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	base := func() jwt.MapClaims {
		return jwt.MapClaims{
			"iss": "covet", "aud": []string{"api"}, "sub": "u1", "jti": "j1", "typ": "access",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		}
	}
	with := func(kv ...any) jwt.MapClaims {
		c := base()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	hs := func(c jwt.MapClaims, header map[string]any) string {
		h := map[string]any{"kid": "k1"}
		for k, v := range header {
			h[k] = v
		}
		return mint(t, jwt.SigningMethodHS256, testSecret, h, c)
	}
	valid := hs(base(), nil)
	none := mint(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": "k1"}, base())
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2]

	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, valid[len(valid)-1])
	malleable := valid[:len(valid)-1] + string(alphabet[last^1]) // flips a padding bit only

	tests := []struct {
		name  string
		token string
		want  error // nil: accepted
	}{
		{"non-canonical signature encoding", malleable, jwt.ErrTokenMalformed},
		{"valid", valid, nil},
		{"signed with previous key", mint(t, jwt.SigningMethodHS256, []byte("previous-secret-previous-secret-!"), map[string]any{"kid": "k0"}, base()), nil},
		{"EdDSA key", mint(t, jwt.SigningMethodEdDSA, edPriv, map[string]any{"kid": "ed"}, base()), nil},
		{"empty", "", ErrNoToken},
		{"oversized", strings.Repeat("a", defaultMaxTokenSize+1), ErrTokenTooLarge},
		{"garbage", "not.a.token", jwt.ErrTokenMalformed},
		{"two segments", "abc.def", jwt.ErrTokenMalformed},
		{"alg none", none, jwt.ErrTokenSignatureInvalid},
		{"alg HS384 not allowed", mint(t, jwt.SigningMethodHS384, testSecret, map[string]any{"kid": "k1"}, base()), jwt.ErrTokenSignatureInvalid},
		{"algorithm confusion: HS256 keyed with the EdDSA public key", mint(t, jwt.SigningMethodHS256, []byte(edPub), map[string]any{"kid": "ed"}, base()), ErrAlgorithmMismatch},
		{"EdDSA on an HMAC kid", mint(t, jwt.SigningMethodEdDSA, edPriv, map[string]any{"kid": "k1"}, base()), ErrAlgorithmMismatch},
		{"unknown kid", hs(base(), map[string]any{"kid": "nope"}), ErrUnknownKey},
		{"missing kid", hs(base(), map[string]any{"kid": nil}), ErrUnknownKey},
		{"numeric kid", hs(base(), map[string]any{"kid": 1}), ErrUnknownKey},
		{"jku header", hs(base(), map[string]any{"jku": "https://evil.example/keys"}), ErrForbiddenHeader},
		{"jwk header", hs(base(), map[string]any{"jwk": map[string]any{"kty": "oct"}}), ErrForbiddenHeader},
		{"x5u header", hs(base(), map[string]any{"x5u": "https://evil.example/cert"}), ErrForbiddenHeader},
		{"x5c header", hs(base(), map[string]any{"x5c": []string{"MII"}}), ErrForbiddenHeader},
		{"crit header", hs(base(), map[string]any{"crit": []string{"exp"}}), ErrForbiddenHeader},
		{"wrong secret", mint(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-!!"), map[string]any{"kid": "k1"}, base()), jwt.ErrTokenSignatureInvalid},
		{"tampered payload", tampered, jwt.ErrTokenSignatureInvalid},
		{"missing exp", hs(with("exp", nil), nil), jwt.ErrTokenRequiredClaimMissing},
		{"expired beyond leeway", hs(with("exp", now.Add(-31*time.Second).Unix()), nil), jwt.ErrTokenExpired},
		{"expired within leeway", hs(with("exp", now.Add(-29*time.Second).Unix()), nil), nil},
		{"nbf beyond leeway", hs(with("nbf", now.Add(31*time.Second).Unix()), nil), jwt.ErrTokenNotValidYet},
		{"nbf within leeway", hs(with("nbf", now.Add(29*time.Second).Unix()), nil), nil},
		{"iat beyond leeway", hs(with("iat", now.Add(31*time.Second).Unix()), nil), jwt.ErrTokenUsedBeforeIssued},
		{"iat within leeway", hs(with("iat", now.Add(29*time.Second).Unix()), nil), nil},
		{"exp as string", hs(with("exp", "tomorrow"), nil), jwt.ErrTokenMalformed},
		{"wrong iss", hs(with("iss", "evil"), nil), jwt.ErrTokenInvalidIssuer},
		{"missing iss", hs(with("iss", nil), nil), jwt.ErrTokenRequiredClaimMissing},
		{"wrong aud", hs(with("aud", []string{"other"}), nil), jwt.ErrTokenInvalidAudience},
		{"aud as a single string", hs(with("aud", "api"), nil), jwt.ErrTokenMalformed},
		{"fractional exp", hs(with("exp", float64(now.Add(time.Minute).Unix())+0.5), nil), jwt.ErrTokenMalformed},
		{"exp overflowing int64", hs(with("exp", 1e300), nil), jwt.ErrTokenMalformed},
		{"negative exp", hs(with("exp", -1), nil), jwt.ErrTokenExpired},
		{"aud list with ours", hs(with("aud", []string{"other", "api"}), nil), nil},
		{"missing aud", hs(with("aud", nil), nil), jwt.ErrTokenRequiredClaimMissing},
		{"refresh typ", hs(with("typ", "refresh"), nil), ErrWrongTokenType},
		{"missing typ", hs(with("typ", nil), nil), ErrWrongTokenType},
		{"missing sub", hs(with("sub", nil), nil), ErrMissingClaim},
		{"missing jti", hs(with("jti", nil), nil), ErrMissingClaim},
		{"missing iat", hs(with("iat", nil), nil), ErrMissingClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := a.Verify(context.Background(), tt.token)
			if tt.want == nil {
				if err != nil || c == nil {
					t.Fatalf("Verify(%s) = %v, %v; want claims", tt.name, c, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%s) = %v; want %v", tt.name, err, tt.want)
			}
			if tt.want != ErrNoToken && !errors.Is(err, ErrTokenInvalid) {
				t.Errorf("Verify(%s) = %v; want it to wrap ErrTokenInvalid", tt.name, err)
			}
		})
	}
}

func TestSignAndVerifyRoundTrip(t *testing.T) {
	a, clk := newTestAuth(t)
	token, csrf := mustSign(t, a, userClaims("u1", "admin"))
	c, err := a.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "u1" || c.Username != "name-u1" || !slices.Contains(c.Roles, "admin") || slices.Contains(c.Roles, "root") {
		t.Errorf("claims = %+v; want subject u1 with role admin", c)
	}
	if c.Type != typeAccess || c.ID == "" || c.Issuer != "covet" || c.CSRF != csrfBinding(csrf) {
		t.Errorf("claims = %+v; want typ, jti, iss and csrf binding filled", c)
	}
	if got, want := time.Unix(c.ExpiresAt, 0), clk.Now().Add(defaultAccessTTL); !got.Equal(want) {
		t.Errorf("exp = %v; want %v", got, want)
	}
	if _, _, err := a.sign(Claims{}); err == nil {
		t.Error("Sign(no subject) = nil error; want an error")
	}
	clk.Add(defaultAccessTTL + defaultLeeway)
	if _, err := a.Verify(context.Background(), token); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("Verify(after expiry) = %v; want ErrTokenExpired", err)
	}
}

func TestKeyRotation(t *testing.T) {
	a, _ := newTestAuth(t)
	oldKey := testKey(t, "k1", testSecret)
	oldToken, _ := mustSign(t, a, userClaims("u1"))

	newKey := testKey(t, "k2", []byte("the-next-secret-the-next-secret!"))
	if err := a.SetKeyRing(testRing(t, newKey, oldKey)); err != nil {
		t.Fatal(err)
	}
	newToken, _ := mustSign(t, a, userClaims("u1"))
	for name, tok := range map[string]string{"old": oldToken, "new": newToken} {
		if _, err := a.Verify(context.Background(), tok); err != nil {
			t.Errorf("Verify(%s token during rotation) = %v; want nil", name, err)
		}
	}
	hdr, _, _ := jwt.NewParser().ParseUnverified(newToken, &Claims{})
	if hdr.Header["kid"] != "k2" {
		t.Errorf("new token kid = %v; want k2", hdr.Header["kid"])
	}

	if err := a.SetKeyRing(testRing(t, newKey)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(context.Background(), oldToken); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Verify(old token after retirement) = %v; want ErrUnknownKey", err)
	}
	if _, err := a.Verify(context.Background(), newToken); err != nil {
		t.Errorf("Verify(new token after retirement) = %v; want nil", err)
	}
}

func TestVerifyOnlyRingCannotSign(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	signKey, _ := EdDSAKey("ed", priv)
	pubKey, err := EdDSAPublicKey("ed", pub)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := New[Claims](testRing(t, signKey))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := signer.sign(userClaims("u1"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewVerifyKeyRing(pubKey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := New[Claims](ring)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(context.Background(), token); err != nil {
		t.Errorf("Verify(EdDSA token with public key) = %v; want nil", err)
	}
	if _, _, err := verifier.sign(userClaims("u1")); err == nil {
		t.Error("Sign on a verify-only ring = nil error; want an error")
	}
}

type tenantClaims struct {
	Claims
	Tenant string `json:"tenant"`
}

func TestCustomClaims(t *testing.T) {
	a, err := New[tenantClaims](testRing(t, testKey(t, "k1", testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	c := tenantClaims{Claims: userClaims("u1", "user"), Tenant: "acme"}
	token, _, err := a.sign(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tenant != "acme" || got.Subject != "u1" {
		t.Errorf("Verify = %+v; want tenant acme, subject u1", got)
	}
	ctx := WithClaims(context.Background(), got)
	if tc, ok := CustomClaimsFromContext[tenantClaims](ctx); !ok || tc.Tenant != "acme" {
		t.Errorf("CustomClaimsFromContext = %v, %v; want tenant acme", tc, ok)
	}
	if bc, ok := ClaimsFromContext(ctx); !ok || bc.Subject != "u1" {
		t.Errorf("ClaimsFromContext = %v, %v; want subject u1", bc, ok)
	}
	if _, ok := CustomClaimsFromContext[Claims](ctx); ok {
		t.Error("CustomClaimsFromContext[Claims] on tenant claims = ok; want false")
	}
	if _, ok := ClaimsFromContext(context.Background()); ok {
		t.Error("ClaimsFromContext(empty) = ok; want false")
	}
}

func TestVerifyDenylistFailureIsNotInvalid(t *testing.T) {
	a, _ := newTestAuth(t, WithDenylist(failingDenylist{}))
	token, _ := mustSign(t, a, userClaims("u1"))
	_, err := a.Verify(context.Background(), token)
	if err == nil || errors.Is(err, ErrTokenInvalid) {
		t.Errorf("Verify(store down) = %v; want a store error not wrapping ErrTokenInvalid", err)
	}
}

var errStoreDown = errors.New("store down")

type failingDenylist struct{}

func (failingDenylist) DenyToken(context.Context, string, time.Time) error { return errStoreDown }
func (failingDenylist) DenySubject(context.Context, string, time.Time, time.Time) error {
	return errStoreDown
}
func (failingDenylist) Revoked(context.Context, string, string, time.Time) (bool, error) {
	return false, errStoreDown
}

func BenchmarkVerify(b *testing.B) {
	a, _ := newTestAuth(b)
	token, _ := mustSign(b, a, userClaims("u1", "admin", "user"))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Verify(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
}
