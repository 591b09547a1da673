package password

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Test hashers use OWASP's lightest setting (7 MiB, 5 passes), built once.
var (
	hasherOnce sync.Once
	sharedH    *Hasher
)

func testHasher(t testing.TB) *Hasher {
	t.Helper()
	hasherOnce.Do(func() {
		var err error
		sharedH, err = NewHasher(WithArgon2(7*1024, 5, 1))
		if err != nil {
			panic(err)
		}
	})
	return sharedH
}

func TestNewHasherValidates(t *testing.T) {
	for _, tt := range []struct {
		name  string
		m, it uint32
		p     uint8
	}{
		{"no lanes", 19 * 1024, 2, 0},
		{"no passes", 19 * 1024, 0, 1},
		{"too many passes", 19 * 1024, 65, 1},
		{"too little memory", 4 * 1024, 10, 1},
		{"too much memory", 5 * 1024 * 1024, 1, 1},
		{"below OWASP product", 8 * 1024, 2, 1},
	} {
		if _, err := NewHasher(WithArgon2(tt.m, tt.it, tt.p)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewHasher(%s) = nil error", tt.name)
		}
	}
}

func TestHashAndVerify(t *testing.T) {
	h := testHasher(t)
	enc, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=7168,t=5,p=1$") {
		t.Errorf("Hash = %q; want an argon2id PHC string", enc)
	}
	enc2, _ := h.Hash("correct horse battery")
	if enc == enc2 {
		t.Error("two hashes of one password are equal; want distinct salts")
	}
	if _, err := h.Hash(strings.Repeat("x", maxPasswordBytes+1)); err == nil {
		t.Error("Hash(5 KB) = nil error")
	}

	bc, _ := bcrypt.GenerateFromPassword([]byte("legacy password"), bcrypt.MinCost)
	long73 := strings.Repeat("a", 73)
	bc72, _ := bcrypt.GenerateFromPassword([]byte(long73[:72]), bcrypt.MinCost)
	// Hashed with other argon2id parameters (OWASP 12 MiB, 3 passes).
	other, _ := (&Hasher{memory: 12 * 1024, iterations: 3, parallelism: 1}).Hash("correct horse battery")

	tests := []struct {
		name           string
		password, hash string
		ok, rehash     bool
		err            error
	}{
		{"argon2id match", "correct horse battery", enc, true, false, nil},
		{"argon2id mismatch", "correct horse batterY", enc, false, false, nil},
		{"argon2id other parameters", "correct horse battery", other, true, true, nil},
		{"argon2id other parameters mismatch", "wrong", other, false, false, nil},
		{"argon2id oversized password", strings.Repeat("x", maxPasswordBytes+1), enc, false, false, nil},
		{"bcrypt match needs rehash", "legacy password", string(bc), true, true, nil},
		{"bcrypt mismatch", "legacy passworD", string(bc), false, false, nil},
		{"bcrypt 72 bytes", long73[:72], string(bc72), true, true, nil},
		{"bcrypt 73 bytes not truncated", long73, string(bc72), false, false, nil},
		{"bcrypt $2y$", "legacy password", "$2y$" + string(bc)[4:], true, true, nil},
		{"bcrypt corrupt", "x", "$2b$99$abc", false, false, ErrUnknownHash},
		{"unknown format", "x", "md5$abc", false, false, ErrUnknownHash},
		{"empty hash", "x", "", false, false, ErrUnknownHash},
		{"argon2i not id", "x", "$argon2i$v=19$m=7168,t=5,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", false, false, ErrUnknownHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tt.password, tt.hash)
			if ok != tt.ok || rehash != tt.rehash || !errors.Is(err, tt.err) {
				t.Errorf("Verify(%s) = %v, %v, %v; want %v, %v, %v", tt.name, ok, rehash, err, tt.ok, tt.rehash, tt.err)
			}
		})
	}
}

func TestParseArgon2Bounds(t *testing.T) {
	salt, key := "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"$argon2id$v=19$m=7168,t=5,p=1$" + salt + "$" + key, true},
		{"$argon2id$v=18$m=7168,t=5,p=1$" + salt + "$" + key, false},
		{"$argon2id$v=19$m=7168,t=5$" + salt + "$" + key, false},
		{"$argon2id$v=19$m=99999999,t=5,p=1$" + salt + "$" + key, false},
		{"$argon2id$v=19$m=7168,t=500,p=1$" + salt + "$" + key, false},
		{"$argon2id$v=19$m=7168,t=5,p=0$" + salt + "$" + key, false},
		{"$argon2id$v=19$t=5,m=7168,p=1$" + salt + "$" + key, false},
		{"$argon2id$v=19$m=x,t=5,p=1$" + salt + "$" + key, false},
		{"$argon2id$v=19$m=7168,t=5,p=1$" + "!!" + "$" + key, false},
		{"$argon2id$v=19$m=7168,t=5,p=1$" + salt + "$" + "aGFzaA", false},
		{"$argon2id$v=19$m=7168,t=5,p=1$" + salt, false},
	} {
		_, err := parseArgon2(tt.s)
		if (err == nil) != tt.ok {
			t.Errorf("parseArgon2(%q) = %v; want ok=%v", tt.s, err, tt.ok)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	h, err := NewHasher()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash("correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
}
