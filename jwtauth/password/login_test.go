package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// countingLockout locks an account after max failures, as a rate limiter's
// lockout would; it records calls for the assertions.
type countingLockout struct {
	mu        sync.Mutex
	max       int
	fails     map[string]int
	succeeded []string
	now       func() time.Time
	err       error // returned by every method when set
}

func (l *countingLockout) Check(_ context.Context, account string) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return time.Time{}, l.err
	}
	if l.fails[account] >= l.max {
		return l.now().Add(time.Minute), nil
	}
	return time.Time{}, nil
}

func (l *countingLockout) Fail(_ context.Context, account string) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[account]++
	if l.fails[account] >= l.max {
		return l.now().Add(time.Minute), l.err
	}
	return time.Time{}, l.err
}

func (l *countingLockout) Succeed(_ context.Context, account string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.succeeded = append(l.succeeded, account)
	delete(l.fails, account)
	return l.err
}

type user struct {
	ID   string
	Hash string
}

func TestLogin(t *testing.T) {
	h := testHasher(t)
	argon, _ := h.Hash("correct horse battery")
	bc, _ := bcrypt.GenerateFromPassword([]byte("legacy password"), bcrypt.MinCost)
	users := map[string]user{"ada": {"u1", argon}, "bob": {"u2", string(bc)}, "eve": {"u3", "garbage"}}
	errDB := errors.New("db down")
	lookup := func(_ context.Context, account string) (user, string, error) {
		if account == "db-down" {
			return user{}, "", errDB
		}
		u, ok := users[account]
		if !ok {
			return user{}, "", ErrUnknownAccount
		}
		return u, u.Hash, nil
	}
	lock := &countingLockout{max: 5, fails: map[string]int{}, now: time.Now}
	login, err := NewLogin(h, lookup, lock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	u, newHash, err := login.Authenticate(ctx, "ada", "correct horse battery")
	if err != nil || u.ID != "u1" || newHash != "" {
		t.Errorf("Authenticate(ada) = %v, %q, %v; want u1, no rehash", u, newHash, err)
	}
	u, newHash, err = login.Authenticate(ctx, "bob", "legacy password")
	if err != nil || u.ID != "u2" {
		t.Fatalf("Authenticate(bob, bcrypt) = %v, %v; want u2", u, err)
	}
	if ok, rehash, _ := h.Verify("legacy password", newHash); !ok || rehash {
		t.Errorf("bcrypt upgrade hash %q does not verify as current argon2id", newHash)
	}
	for _, tt := range []struct{ account, password string }{{"ada", "wrong"}, {"nobody", "whatever"}} {
		if _, _, err := login.Authenticate(ctx, tt.account, tt.password); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("Authenticate(%s, wrong) = %v; want ErrInvalidCredentials", tt.account, err)
		}
	}
	if lock.fails["ada"] != 1 || lock.fails["nobody"] != 1 {
		t.Errorf("failures = %v; want one each for ada and the unknown account", lock.fails)
	}
	if _, _, err := login.Authenticate(ctx, "db-down", "x"); !errors.Is(err, errDB) {
		t.Errorf("Authenticate(lookup fails) = %v; want the lookup error", err)
	}
	if _, _, err := login.Authenticate(ctx, "eve", "x"); !errors.Is(err, ErrUnknownHash) {
		t.Errorf("Authenticate(corrupt hash) = %v; want ErrUnknownHash", err)
	}

	// Five failures lock the account; even the right password is then refused.
	for range 4 {
		_, _, _ = login.Authenticate(ctx, "ada", "wrong")
	}
	_, _, err = login.Authenticate(ctx, "ada", "correct horse battery")
	var locked *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &locked) || locked.Until.IsZero() || locked.Error() == "" {
		t.Errorf("Authenticate(locked) = %v; want a LockedError", err)
	}
}

func TestLoginLockoutFailures(t *testing.T) {
	h := testHasher(t)
	hash, _ := h.Hash("correct horse battery")
	lookup := func(context.Context, string) (string, string, error) { return "u1", hash, nil }
	lock := &countingLockout{max: 5, fails: map[string]int{}, now: time.Now, err: errStoreDown}
	login, _ := NewLogin(h, lookup, lock)
	ctx := context.Background()
	if _, _, err := login.Authenticate(ctx, "ada", "x"); !errors.Is(err, errStoreDown) {
		t.Errorf("Authenticate(lockout Check fails) = %v; want the lockout error", err)
	}
	lock.err = nil
	login2, _ := NewLogin(h, lookup, &failAfterCheck{})
	if _, _, err := login2.Authenticate(ctx, "ada", "wrong"); !errors.Is(err, ErrInvalidCredentials) || !errors.Is(err, errStoreDown) {
		t.Errorf("Authenticate(Fail fails) = %v; want ErrInvalidCredentials and the lockout error", err)
	}
	if _, _, err := login2.Authenticate(ctx, "ada", "correct horse battery"); !errors.Is(err, errStoreDown) {
		t.Errorf("Authenticate(Succeed fails) = %v; want the lockout error", err)
	}
	noLock, _ := NewLogin(h, lookup, nil)
	if u, _, err := noLock.Authenticate(ctx, "ada", "correct horse battery"); err != nil || u != "u1" {
		t.Errorf("Authenticate(no lockout) = %v, %v; want u1", u, err)
	}
	if _, _, err := noLock.Authenticate(ctx, "ada", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("Authenticate(no lockout, wrong) = %v; want ErrInvalidCredentials", err)
	}
	for _, tt := range []struct {
		name    string
		hasher  *Hasher
		lookup  LookupFunc[string]
		lockout Lockout
		want    string // named in the error
	}{
		{"nil hasher", nil, lookup, nil, "hasher"},
		{"nil lookup", h, nil, nil, "lookup"},
		{"typed nil lockout", h, lookup, (*countingLockout)(nil), "lockout"},
	} {
		_, err := NewLogin(tt.hasher, tt.lookup, tt.lockout)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewLogin(%s) = %v; want ErrInvalidConfig naming the %s", tt.name, err, tt.want)
		}
	}
}

// failAfterCheck never locks but fails to record results.
type failAfterCheck struct{}

func (failAfterCheck) Check(context.Context, string) (time.Time, error) { return time.Time{}, nil }
func (failAfterCheck) Fail(context.Context, string) (time.Time, error) {
	return time.Time{}, errStoreDown
}
func (failAfterCheck) Succeed(context.Context, string) error { return errStoreDown }

var errStoreDown = errors.New("store down")
