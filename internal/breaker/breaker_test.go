package breaker

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestBreaker runs in a synctest bubble: the breaker reads time.Now, and a
// cooldown passes with time.Sleep at no real cost.
func TestBreaker(t *testing.T) { synctest.Test(t, testBreaker) }

func testBreaker(t *testing.T) {
	var changes []bool
	b := New(2, time.Second, time.Now, func(open bool, err error) {
		if open && err == nil {
			t.Error("opened without an error")
		}
		changes = append(changes, open)
	})
	boom := errors.New("boom")
	if !b.Allow() || b.Open() {
		t.Fatal("new breaker is not closed")
	}
	if b.Failure(boom) {
		t.Fatal("opened below the threshold")
	}
	if !b.Failure(boom) || !b.Open() {
		t.Fatal("did not open at the threshold")
	}
	if b.Failure(boom) {
		t.Fatal("opened twice")
	}
	if b.Allow() {
		t.Fatal("allowed a call while open")
	}
	time.Sleep(time.Second)
	if !b.Allow() {
		t.Fatal("no probe after the cooldown")
	}
	if b.Allow() {
		t.Fatal("a second probe was allowed")
	}
	b.Failure(boom) // failed probe: stays open for another cooldown
	if b.Allow() {
		t.Fatal("allowed a call after a failed probe")
	}
	time.Sleep(time.Second)
	if !b.Allow() {
		t.Fatal("no probe after the second cooldown")
	}
	if !b.Success() || b.Open() {
		t.Fatal("a successful probe did not close the breaker")
	}
	if b.Success() {
		t.Fatal("closed twice")
	}
	if want := []bool{true, false}; len(changes) != 2 || changes[0] != want[0] || changes[1] != want[1] {
		t.Fatalf("transitions = %v; want %v", changes, want)
	}
}

func TestDefaults(t *testing.T) {
	b := New(0, 0, nil, nil)
	if b.Cooldown() != DefaultCooldown || b.threshold != DefaultThreshold {
		t.Fatalf("New(0, 0) = threshold %d, cooldown %v; want the defaults", b.threshold, b.Cooldown())
	}
	for range DefaultThreshold {
		b.Failure(errors.New("x"))
	}
	if !b.Open() {
		t.Fatal("did not open at the default threshold")
	}
	b.Success()
}

func TestConcurrent(t *testing.T) {
	b := New(1, time.Millisecond, nil, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				if b.Allow() {
					if (i+j)%3 == 0 {
						b.Success()
					} else {
						b.Failure(errors.New("x"))
					}
				}
			}
		})
	}
	wg.Wait()
}
