package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// OWASP's first argon2id configuration: 19 MiB, 2 passes, 1 lane.
const (
	defaultArgon2Memory      = 19 * 1024 // KiB
	defaultArgon2Iterations  = 2
	defaultArgon2Parallelism = 1
	argon2SaltLen            = 16
	argon2KeyLen             = 32
	// maxPasswordBytes bounds the work one login attempt can ask for.
	maxPasswordBytes = 4096
	// bcryptMaxBytes is bcrypt's input limit; longer passwords were silently
	// truncated by many implementations.
	bcryptMaxBytes = 72
)

// HasherOption configures [NewHasher].
type HasherOption func(*Hasher)

// WithArgon2 sets argon2id's memory (KiB), passes and lanes. The product of
// memory and passes must reach that of OWASP's weakest recommended setting
// (7 MiB × 5), and memory at least 7 MiB.
func WithArgon2(memoryKiB, iterations uint32, parallelism uint8) HasherOption {
	return func(h *Hasher) { h.memory, h.iterations, h.parallelism = memoryKiB, iterations, parallelism }
}

// DefaultMemoryBudget is the memory hashing may use at once when neither
// [WithMemoryBudget] nor GOMEMLIMIT says otherwise.
const DefaultMemoryBudget = 256 << 20

// ErrBusy is returned by [Hasher.HashContext] and [Hasher.VerifyContext]
// (and so by [Login.Authenticate]) when ctx ended while waiting for a
// hashing slot. Answer it with 503 and Retry-After: the server is
// saturated, not the credentials wrong.
var ErrBusy = errors.New("password: too many hashes in progress")

// WithMemoryBudget bounds the memory argon2id may use at once: the Hasher
// runs at most budget / memory-per-hash hashes concurrently (at least one),
// and further callers wait. The default is half of GOMEMLIMIT when it is set
// (debug.SetMemoryLimit), else [DefaultMemoryBudget]. Each hash allocates its
// memory parameter (19 MiB by default), so without a bound a burst of logins
// can exhaust a container's memory.
func WithMemoryBudget(bytes int64) HasherOption { return func(h *Hasher) { h.budget = bytes } }

// Hasher hashes passwords with argon2id into PHC strings
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash) and verifies argon2id and bcrypt
// hashes. Build it with [NewHasher]; safe for concurrent use.
type Hasher struct {
	memory      uint32
	iterations  uint32
	parallelism uint8
	dummy       string
	budget      int64
	slots       chan struct{}
}

// NewHasher returns a Hasher with OWASP's argon2id parameters unless
// [WithArgon2] says otherwise. It hashes a random password once to have a
// dummy hash for unknown accounts.
func NewHasher(opts ...HasherOption) (*Hasher, error) {
	h := &Hasher{memory: defaultArgon2Memory, iterations: defaultArgon2Iterations, parallelism: defaultArgon2Parallelism}
	for _, o := range opts {
		o(h)
	}
	switch {
	case h.parallelism == 0:
		return nil, fmt.Errorf("%w: argon2id parallelism must be at least 1", ErrInvalidConfig)
	case h.iterations == 0 || h.iterations > 64:
		return nil, fmt.Errorf("%w: argon2id passes %d outside [1, 64]", ErrInvalidConfig, h.iterations)
	case h.memory < 7*1024 || h.memory > 4*1024*1024:
		return nil, fmt.Errorf("%w: argon2id memory %d KiB outside [7 MiB, 4 GiB]", ErrInvalidConfig, h.memory)
	case uint64(h.memory)*uint64(h.iterations) < 7*1024*5:
		return nil, fmt.Errorf("%w: argon2id memory × passes %d below OWASP's minimum %d", ErrInvalidConfig, uint64(h.memory)*uint64(h.iterations), 7*1024*5)
	}
	if h.budget == 0 {
		h.budget = DefaultMemoryBudget
		if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < math.MaxInt64 {
			h.budget = lim / 2
		}
	}
	if h.budget < 0 {
		return nil, fmt.Errorf("%w: memory budget %d is negative", ErrInvalidConfig, h.budget)
	}
	h.slots = make(chan struct{}, max(1, h.budget/(int64(h.memory)*1024)))
	var err error
	if h.dummy, err = h.Hash(rand.Text()); err != nil {
		return nil, err
	}
	return h, nil
}

// Slots returns how many hashes may run at once (see [WithMemoryBudget]).
func (h *Hasher) Slots() int { return cap(h.slots) }

// acquire waits for a hashing slot until ctx ends.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// HashContext is [Hasher.Hash] waiting for a hashing slot only as long as
// ctx allows; then it returns [ErrBusy].
func (h *Hasher) HashContext(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash(password)
}

// VerifyContext is [Hasher.Verify] waiting for a hashing slot only as long
// as ctx allows; then it returns [ErrBusy].
func (h *Hasher) VerifyContext(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	return h.verify(password, encoded)
}

// Hash returns the argon2id PHC string of password. Check the password
// against a [Policy] first; Hash refuses only passwords over 4096 bytes. It
// waits for a hashing slot as long as it takes; prefer [Hasher.HashContext]
// in request paths.
func (h *Hasher) Hash(password string) (string, error) {
	if h.slots != nil {
		h.slots <- struct{}{}
		defer h.release()
	}
	return h.hash(password)
}

func (h *Hasher) hash(password string) (string, error) {
	if len(password) > maxPasswordBytes {
		return "", ErrTooLong
	}
	salt := make([]byte, argon2SaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, h.iterations, h.memory, h.parallelism, argon2KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.memory, h.iterations, h.parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, an argon2id PHC string or
// a bcrypt hash ($2a$, $2b$, $2y$), and whether encoded should be replaced by
// [Hasher.Hash] of the password: always for bcrypt, and for argon2id hashed
// with other parameters. A password over bcrypt's 72-byte limit never matches
// a bcrypt hash (rather than being silently truncated to its first 72
// bytes). An encoded hash in no known format returns [ErrUnknownHash]. It
// waits for a hashing slot as long as it takes; prefer
// [Hasher.VerifyContext] in request paths.
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	h.slots <- struct{}{}
	defer h.release()
	return h.verify(password, encoded)
}

func (h *Hasher) verify(password, encoded string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, err := parseArgon2(encoded)
		if err != nil {
			return false, false, err
		}
		if len(password) > maxPasswordBytes {
			return false, false, nil
		}
		key := argon2.IDKey([]byte(password), p.salt, p.iterations, p.memory, p.parallelism, uint32(len(p.key)))
		ok = subtle.ConstantTimeCompare(key, p.key) == 1
		rehash := p.memory != h.memory || p.iterations != h.iterations || p.parallelism != h.parallelism ||
			len(p.key) != argon2KeyLen || len(p.salt) < argon2SaltLen
		return ok, ok && rehash, nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		if _, err := bcrypt.Cost([]byte(encoded)); err != nil {
			return false, false, fmt.Errorf("%w: %w", ErrUnknownHash, err)
		}
		if len(password) > bcryptMaxBytes {
			return false, false, nil
		}
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		if err != nil {
			return false, false, nil
		}
		return true, true, nil
	}
	return false, false, ErrUnknownHash
}

// verifyDummy spends the time of an argon2id verification for an account
// that does not exist.
func (h *Hasher) verifyDummy(ctx context.Context, password string) error {
	_, _, err := h.VerifyContext(ctx, password, h.dummy)
	return err
}

type argon2Params struct {
	memory, iterations uint32
	parallelism        uint8
	salt, key          []byte
}

// parseArgon2 reads a PHC string, bounding every parameter so that a
// corrupt or planted hash cannot ask for unbounded work.
func parseArgon2(s string) (argon2Params, error) {
	var p argon2Params
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, ErrUnknownHash
	}
	var m, t, par uint64
	for i, f := range strings.Split(parts[3], ",") {
		name, val, _ := strings.Cut(f, "=")
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return p, ErrUnknownHash
		}
		switch {
		case i == 0 && name == "m":
			m = n
		case i == 1 && name == "t":
			t = n
		case i == 2 && name == "p":
			par = n
		default:
			return p, ErrUnknownHash
		}
	}
	if m < 8 || m > 4*1024*1024 || t < 1 || t > 64 || par < 1 || par > 255 || m < 8*par {
		return p, ErrUnknownHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(key) < 16 || len(key) > 64 {
		return p, ErrUnknownHash
	}
	p.memory, p.iterations, p.parallelism, p.salt, p.key = uint32(m), uint32(t), uint8(par), salt, key
	return p, nil
}
