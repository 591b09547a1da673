package ratelimit

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

type step struct {
	advance    time.Duration
	cost       int64
	allowed    bool
	remaining  int64
	retryAfter time.Duration // checked when non-zero
	resetAfter time.Duration // checked when non-zero
}

func TestAlgorithms(t *testing.T) {
	tests := []struct {
		name  string
		alg   Algorithm
		rate  Rate
		steps []step
	}{
		{"gcra burst equals limit", GCRA, PerMinute(3), []step{
			{0, 1, true, 2, 0, 20 * time.Second},
			{0, 1, true, 1, 0, 40 * time.Second},
			{0, 1, true, 0, 0, 60 * time.Second},
			{0, 1, false, 0, 20 * time.Second, 60 * time.Second},
			{20 * time.Second, 1, true, 0, 0, 60 * time.Second},
			{0, 0, true, 0, 0, 0},
			{40 * time.Second, 2, true, 0, 0, 60 * time.Second},
			{60 * time.Second, 1, true, 2, 0, 20 * time.Second},
		}},
		{"gcra with burst", GCRA, PerHour(1000).WithBurst(2), []step{
			{0, 1, true, 1, 0, 3600 * time.Millisecond},
			{0, 1, true, 0, 0, 7200 * time.Millisecond},
			{0, 1, false, 0, 3600 * time.Millisecond, 0},
			{3600 * time.Millisecond, 1, true, 0, 0, 0},
		}},
		{"gcra cost above burst", GCRA, PerMinute(3), []step{
			{0, 4, false, 3, time.Minute, 0},
			{0, 3, true, 0, 0, time.Minute},
		}},
		{"gcra weighted", GCRA, PerSecond(10), []step{
			{0, 7, true, 3, 0, 700 * time.Millisecond},
			{0, 4, false, 3, 100 * time.Millisecond, 0},
		}},
		{"fixed window", FixedWindow, PerMinute(3), []step{
			// The clock starts 7s into a minute.
			{0, 2, true, 1, 0, 53 * time.Second},
			{0, 1, true, 0, 0, 53 * time.Second},
			{0, 1, false, 0, 53 * time.Second, 53 * time.Second},
			{0, 4, false, 0, time.Minute, 53 * time.Second},
			{53 * time.Second, 3, true, 0, 0, time.Minute},
			{2 * time.Minute, 1, true, 2, 0, 0},
		}},
		{"sliding window", SlidingWindow, PerMinute(10), []step{
			// t=7s into the window: 10 allowed, then denied until the next
			// window has slid far enough.
			{0, 10, true, 0, 0, 113 * time.Second},
			{0, 1, false, 0, 53*time.Second + 6*time.Second, 113 * time.Second},
			// 53s later: next window at 0s; estimate = 10*1 + 0 = 10: denied.
			{53 * time.Second, 1, false, 0, 6 * time.Second, 60 * time.Second},
			// 6s into the window: estimate = 10*0.9 = 9: one fits.
			{6 * time.Second, 1, true, 0, 0, 114 * time.Second},
			{0, 1, false, 0, 6 * time.Second, 0},
			{0, 11, false, 0, time.Minute, 0},
			// Two windows later everything has slid out.
			{2 * time.Minute, 0, true, 10, 0, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := newMem(t, c)
			for i, st := range tt.steps {
				c.Add(st.advance)
				d, err := s.Take(context.Background(), "k", tt.rate, tt.alg, st.cost)
				if err != nil {
					t.Fatalf("step %d: Take: %v", i, err)
				}
				if d.Allowed != st.allowed || d.Remaining != st.remaining {
					t.Fatalf("step %d: Take(cost %d) = %+v; want allowed %v remaining %d", i, st.cost, d, st.allowed, st.remaining)
				}
				if st.retryAfter != 0 && d.RetryAfter != st.retryAfter {
					t.Fatalf("step %d: RetryAfter = %v; want %v", i, d.RetryAfter, st.retryAfter)
				}
				if st.resetAfter != 0 && d.ResetAfter != st.resetAfter {
					t.Fatalf("step %d: ResetAfter = %v; want %v", i, d.ResetAfter, st.resetAfter)
				}
				if d.Allowed && d.RetryAfter != 0 {
					t.Fatalf("step %d: allowed with RetryAfter %v", i, d.RetryAfter)
				}
				if d.Limit != tt.rate.Limit || d.Period != tt.rate.Period {
					t.Fatalf("step %d: Limit/Period = %d/%v; want %d/%v", i, d.Limit, d.Period, tt.rate.Limit, tt.rate.Period)
				}
			}
		})
	}
}

// TestRetryAfterNeverEarly checks, for random rates and traffic, that a
// request denied with RetryAfter d is allowed when retried after exactly d.
func TestRetryAfterNeverEarly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, alg := range []Algorithm{GCRA, SlidingWindow, FixedWindow} {
		t.Run(alg.String(), func(t *testing.T) {
			for trial := 0; trial < 300; trial++ {
				r := Rate{Limit: 1 + rng.Int64N(20), Period: time.Duration(1+rng.Int64N(120_000)) * time.Millisecond}
				if alg == GCRA && rng.IntN(2) == 0 {
					r.Burst = 1 + rng.Int64N(r.Limit)
				}
				c := newClock()
				c.Add(time.Duration(rng.Int64N(int64(time.Hour))))
				s := newMem(t, c)
				for i := 0; i < 40; i++ {
					c.Add(time.Duration(rng.Int64N(int64(r.Period / 4))))
					cost := 1 + rng.Int64N(r.burst())
					if alg != GCRA {
						cost = 1 + rng.Int64N(r.Limit)
					}
					d, _ := s.Take(context.Background(), "k", r, alg, cost)
					if d.Allowed {
						continue
					}
					c.Add(d.RetryAfter)
					d2, _ := s.Take(context.Background(), "k", r, alg, cost)
					if !d2.Allowed {
						t.Fatalf("rate %v cost %d: denied with RetryAfter %v, and denied again after waiting it: %+v", r, cost, d.RetryAfter, d2)
					}
				}
			}
		})
	}
}

func TestAlgorithmString(t *testing.T) {
	for a, want := range map[Algorithm]string{GCRA: "gcra", SlidingWindow: "sliding-window", FixedWindow: "fixed-window", 9: "Algorithm(9)"} {
		if got := a.String(); got != want {
			t.Errorf("Algorithm(%d).String() = %q; want %q", a, got, want)
		}
	}
}
