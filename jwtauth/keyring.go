package jwtauth

import (
	"crypto/ed25519"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// minHMACKeyLen is the shortest HS256 secret [HS256Key] accepts: 32 bytes,
// the output size of SHA-256 (RFC 7518 §3.2).
const minHMACKeyLen = 32

// Key is one signing or verification key with its key ID and pinned
// algorithm. Build it with [HS256Key], [EdDSAKey] or [EdDSAPublicKey]; the zero
// value is not usable. A Key is immutable and safe for concurrent use.
type Key struct {
	id     string
	method jwt.SigningMethod
	// sign and verify are boxed once here so that looking a key up on every
	// request allocates nothing.
	sign   any
	verify any
}

// canSign reports whether the key holds private material.
func (k Key) canSign() bool { return k.sign != nil }

// HS256Key returns an HMAC-SHA256 key. The secret must be at least
// 32 bytes of random data; it is copied.
func HS256Key(id string, secret []byte) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(secret) < minHMACKeyLen {
		return Key{}, fmt.Errorf("%w: key %q: HS256 secret is %d bytes, at least %d required", ErrInvalidConfig, id, len(secret), minHMACKeyLen)
	}
	s := append([]byte(nil), secret...)
	return Key{id: id, method: jwt.SigningMethodHS256, sign: s, verify: s}, nil
}

// EdDSAKey returns an Ed25519 signing key; its public half verifies.
func EdDSAKey(id string, private ed25519.PrivateKey) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(private) != ed25519.PrivateKeySize {
		return Key{}, fmt.Errorf("%w: key %q: Ed25519 private key is %d bytes, want %d", ErrInvalidConfig, id, len(private), ed25519.PrivateKeySize)
	}
	priv := append(ed25519.PrivateKey(nil), private...)
	pub := priv.Public().(ed25519.PublicKey)
	return Key{id: id, method: jwt.SigningMethodEdDSA, sign: priv, verify: pub}, nil
}

// EdDSAPublicKey returns a verification-only Ed25519 key, for services that
// check tokens another service signs.
func EdDSAPublicKey(id string, public ed25519.PublicKey) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(public) != ed25519.PublicKeySize {
		return Key{}, fmt.Errorf("%w: key %q: Ed25519 public key is %d bytes, want %d", ErrInvalidConfig, id, len(public), ed25519.PublicKeySize)
	}
	pub := append(ed25519.PublicKey(nil), public...)
	return Key{id: id, method: jwt.SigningMethodEdDSA, verify: pub}, nil
}

func checkKeyID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: key id must not be empty", ErrInvalidConfig)
	}
	if len(id) > 64 {
		return fmt.Errorf("%w: key id %q longer than 64 bytes", ErrInvalidConfig, id)
	}
	return nil
}

// KeyRing holds the current key, which signs, and earlier keys, which only
// verify. Rotate by building a new ring with the new key current and the
// old one among the previous, then [Auth.SetKeyRing]; drop the old key once
// every token it signed has expired. A KeyRing is immutable and safe for
// concurrent use.
type KeyRing struct {
	current Key
	keys    []Key // current first
	methods []string
}

// NewKeyRing returns a ring that signs with current and verifies with current
// and previous. Key IDs must be distinct and current must hold a private key
// (verification-only rings are built with [NewVerifyKeyRing]).
func NewKeyRing(current Key, previous ...Key) (*KeyRing, error) {
	if !current.canSign() {
		return nil, fmt.Errorf("%w: the current key cannot sign", ErrInvalidConfig)
	}
	return newRing(current, append([]Key{current}, previous...))
}

// NewVerifyKeyRing returns a ring that only verifies; an [Auth] built on it
// refuses to issue tokens.
func NewVerifyKeyRing(keys ...Key) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: a key ring needs at least one key", ErrInvalidConfig)
	}
	return newRing(Key{}, append([]Key(nil), keys...))
}

func newRing(current Key, keys []Key) (*KeyRing, error) {
	r := &KeyRing{current: current, keys: keys}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if k.method == nil || k.verify == nil {
			return nil, fmt.Errorf("%w: zero Key in key ring", ErrInvalidConfig)
		}
		if seen[k.id] {
			return nil, fmt.Errorf("%w: duplicate key id %q in key ring", ErrInvalidConfig, k.id)
		}
		seen[k.id] = true
		alg := k.method.Alg()
		found := false
		for _, m := range r.methods {
			found = found || m == alg
		}
		if !found {
			r.methods = append(r.methods, alg)
		}
	}
	return r, nil
}

// CurrentID returns the ID of the signing key, or "" for a verify-only ring.
func (r *KeyRing) CurrentID() string { return r.current.id }

// forbiddenHeaders would let a token name its own key or demand extensions
// this package does not implement.
var forbiddenHeaders = [...]string{"jku", "jwk", "x5u", "x5c", "crit"}

// keyfunc is the jwt.Keyfunc: it refuses key-carrying headers, finds the key
// by kid without allocating and pins the algorithm to that key.
func (r *KeyRing) keyfunc(t *jwt.Token) (any, error) {
	for _, h := range forbiddenHeaders {
		if _, ok := t.Header[h]; ok {
			return nil, ErrForbiddenHeader
		}
	}
	kid, _ := t.Header["kid"].(string)
	for i := range r.keys {
		k := &r.keys[i]
		if k.id != kid {
			continue
		}
		if t.Method == nil || t.Method.Alg() != k.method.Alg() {
			return nil, ErrAlgorithmMismatch
		}
		return k.verify, nil
	}
	return nil, ErrUnknownKey
}
