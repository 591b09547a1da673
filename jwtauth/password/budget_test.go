package password

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemoryBudget(t *testing.T) {
	tests := []struct {
		budget int64
		want   int
	}{
		{1, 1},                    // below one hash: still one at a time
		{3 * 7 * 1024 * 1024, 3},  // three 7 MiB hashes
		{3*7*1024*1024 + 100, 3},  // rounded down
		{DefaultMemoryBudget, 36}, // 256 MiB / 7 MiB
	}
	for _, tc := range tests {
		h, err := NewHasher(WithArgon2(7*1024, 5, 1), WithMemoryBudget(tc.budget))
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Slots(); got != tc.want {
			t.Errorf("WithMemoryBudget(%d).Slots() = %d; want %d", tc.budget, got, tc.want)
		}
	}
	if _, err := NewHasher(WithMemoryBudget(-1)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative budget: %v; want ErrInvalidConfig", err)
	}
	h, err := NewHasher(WithArgon2(7*1024, 5, 1))
	if err != nil {
		t.Fatal(err)
	}
	if h.Slots() < 1 {
		t.Errorf("default Slots() = %d", h.Slots())
	}
}

func TestBusy(t *testing.T) {
	h, err := NewHasher(WithArgon2(7*1024, 5, 1), WithMemoryBudget(1))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.HashContext(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.VerifyContext(context.Background(), "correct horse battery staple", enc); !ok || err != nil {
		t.Fatalf("VerifyContext = %v, %v", ok, err)
	}
	// Hold the only slot: callers wait only as long as their context allows.
	h.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := h.VerifyContext(ctx, "x", enc); !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("VerifyContext with no free slot = %v; want ErrBusy", err)
	}
	if _, err := h.HashContext(ctx, "x"); !errors.Is(err, ErrBusy) {
		t.Errorf("HashContext with no free slot = %v; want ErrBusy", err)
	}
	// Login reports it too, for known and unknown accounts alike.
	l, err := NewLogin(h, func(_ context.Context, account string) (string, string, error) {
		if account == "known" {
			return account, enc, nil
		}
		return "", "", ErrUnknownAccount
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, account := range []string{"known", "unknown"} {
		if _, _, err := l.Authenticate(ctx, account, "x"); !errors.Is(err, ErrBusy) {
			t.Errorf("Authenticate(%q) with no free slot = %v; want ErrBusy", account, err)
		}
	}
	<-h.slots
	if _, _, err := l.Authenticate(context.Background(), "known", "correct horse battery staple"); err != nil {
		t.Errorf("Authenticate after the slot freed = %v", err)
	}
}
