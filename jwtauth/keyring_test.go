package jwtauth

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestKeyConstructors(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	tests := []struct {
		name string
		make func() (Key, error)
		ok   bool
	}{
		{"HS256 32 bytes", func() (Key, error) { return HS256Key("k", testSecret) }, true},
		{"HS256 31 bytes", func() (Key, error) { return HS256Key("k", testSecret[:31]) }, false},
		{"HS256 empty secret", func() (Key, error) { return HS256Key("k", nil) }, false},
		{"empty id", func() (Key, error) { return HS256Key("", testSecret) }, false},
		{"long id", func() (Key, error) { return HS256Key(strings.Repeat("k", 65), testSecret) }, false},
		{"EdDSA private", func() (Key, error) { return EdDSAKey("e", priv) }, true},
		{"EdDSA short private", func() (Key, error) { return EdDSAKey("e", priv[:10]) }, false},
		{"EdDSA private empty id", func() (Key, error) { return EdDSAKey("", priv) }, false},
		{"EdDSA public", func() (Key, error) { return EdDSAPublicKey("e", pub) }, true},
		{"EdDSA short public", func() (Key, error) { return EdDSAPublicKey("e", pub[:5]) }, false},
		{"EdDSA public empty id", func() (Key, error) { return EdDSAPublicKey("", pub) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.make()
			if (err == nil) != tt.ok {
				t.Fatalf("%s: err = %v; want ok=%v", tt.name, err, tt.ok)
			}
			if tt.ok && (k.id == "" || k.method == nil) {
				t.Errorf("%s: key = %q/%v; want id and algorithm", tt.name, k.id, k.method)
			}
		})
	}
	if (Key{}).method != nil || (Key{}).canSign() {
		t.Error("zero Key has an algorithm or can sign")
	}
}

func TestHS256KeyCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	k := testKey(t, "k", secret)
	secret[0] ^= 0xff
	if k.sign.([]byte)[0] != testSecret[0] {
		t.Error("HS256Key kept a reference to the caller's secret")
	}
}

func TestNewKeyRing(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	verifyOnly, _ := EdDSAPublicKey("pub", pub)
	k1, k2 := testKey(t, "k1", testSecret), testKey(t, "k2", testSecret)
	if _, err := NewKeyRing(k1, k2); err != nil {
		t.Errorf("NewKeyRing(k1, k2) = %v; want nil", err)
	}
	if _, err := NewKeyRing(k1, testKey(t, "k1", testSecret)); err == nil {
		t.Error("NewKeyRing(duplicate kid) = nil error")
	}
	if _, err := NewKeyRing(verifyOnly); err == nil {
		t.Error("NewKeyRing(verify-only current) = nil error")
	}
	if _, err := NewKeyRing(k1, Key{}); !errors.Is(err, ErrInvalidConfig) {
		t.Error("NewKeyRing(zero previous) = nil error")
	}
	if _, err := NewVerifyKeyRing(); err == nil {
		t.Error("NewVerifyKeyRing() = nil error")
	}
	r, err := NewVerifyKeyRing(verifyOnly, k1)
	if err != nil {
		t.Fatal(err)
	}
	if r.CurrentID() != "" || len(r.methods) != 2 {
		t.Errorf("verify ring: current %q, methods %v; want none and two", r.CurrentID(), r.methods)
	}
	if r2 := testRing(t, k2, k1); r2.CurrentID() != "k2" || len(r2.methods) != 1 {
		t.Errorf("ring: current %q, methods %v; want k2 and one", r2.CurrentID(), r2.methods)
	}
}

func TestKeyfuncAllocatesNothing(t *testing.T) {
	r := testRing(t, testKey(t, "k1", testSecret), testKey(t, "k0", testSecret), testKey(t, "k-1", testSecret))
	tok := &jwt.Token{Method: jwt.SigningMethodHS256, Header: map[string]any{"alg": "HS256", "typ": "JWT", "kid": "k-1"}}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.keyfunc(tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("keyfunc allocs = %v; want 0", allocs)
	}
	tok.Method = nil
	if _, err := r.keyfunc(tok); !errors.Is(err, ErrAlgorithmMismatch) {
		t.Errorf("keyfunc(no method) = %v; want ErrAlgorithmMismatch", err)
	}
}
