package ratelimit

import (
	"errors"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
	}{
		{"5/minute", Rate{Limit: 5, Period: time.Minute}},
		{"5/m", Rate{Limit: 5, Period: time.Minute}},
		{" 5 / min ", Rate{Limit: 5, Period: time.Minute}},
		{"100/10s", Rate{Limit: 100, Period: 10 * time.Second}},
		{"100/2 hours", Rate{Limit: 100, Period: 2 * time.Hour}},
		{"1000/hour;burst=20", Rate{Limit: 1000, Period: time.Hour, Burst: 20}},
		{"1000/h; burst = 20", Rate{Limit: 1000, Period: time.Hour, Burst: 20}},
		{"10/1m30s", Rate{Limit: 10, Period: 90 * time.Second}},
		{"3/day", Rate{Limit: 3, Period: 24 * time.Hour}},
		{"50/500ms", Rate{Limit: 50, Period: 500 * time.Millisecond}},
		{"1/S", Rate{Limit: 1, Period: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseRate(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			back, err := ParseRate(got.String())
			if err != nil || back != got {
				t.Fatalf("ParseRate(%q) = %+v, %v; want round trip %+v", got.String(), back, err, got)
			}
		})
	}
}

func TestParseRateErrors(t *testing.T) {
	tests := []struct{ in, wantMsg string }{
		{"", "want <limit>/<period>"},
		{"5", "want <limit>/<period>"},
		{"five/minute", `limit "five" is not a whole number`},
		{"5/", "period is empty"},
		{"5/fortnight", `period "fortnight" is not a duration or unit`},
		{"0/minute", "limit 0 must be positive"},
		{"-1/minute", "limit -1 must be positive"},
		{"5/0s", "out of range"},
		{"5/0.5ms", "must be at least 1ms"},
		{"5/1us", "must be at least 1ms"},
		{"5/1000days", "out of range"},
		{"5/9000h0m", "longer than"},
		{"5/minute;burst=0", "burst \"0\" is not a positive whole number"},
		{"5/minute;burst=x", "burst \"x\" is not a positive whole number"},
		{"5/minute;cost=2", `only burst=<n> is known`},
		{"2000000000000/s", "is larger than"},
		{"1/day;burst=1000", "takes longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseRate(tt.in)
			if !errors.Is(err, ErrInvalidRate) {
				t.Fatalf("ParseRate(%q) error = %v; want ErrInvalidRate", tt.in, err)
			}
			if !contains(err.Error(), tt.wantMsg) {
				t.Fatalf("ParseRate(%q) error = %q; want it to mention %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestRateHelpers(t *testing.T) {
	if got := PerSecond(3); got != (Rate{3, time.Second, 0}) {
		t.Errorf("PerSecond(3) = %+v", got)
	}
	if got := PerMinute(3).WithBurst(1); got != (Rate{3, time.Minute, 1}) {
		t.Errorf("PerMinute(3).WithBurst(1) = %+v", got)
	}
	if got := PerHour(3).String(); got != "3/1h0m0s" {
		t.Errorf("PerHour(3).String() = %q", got)
	}
	if err := PerSecond(1).WithBurst(-1).Validate(); !errors.Is(err, ErrInvalidRate) {
		t.Errorf("negative burst: err = %v; want ErrInvalidRate", err)
	}
	if err := PerSecond(1).WithBurst(1 << 41).Validate(); !errors.Is(err, ErrInvalidRate) {
		t.Errorf("huge burst: err = %v; want ErrInvalidRate", err)
	}
	if r := PerSecond(10).WithBurst(5); r.Validate() != nil || r.burst() != 5 {
		t.Errorf("PerSecond(10).WithBurst(5) = %+v, %v", r, r.Validate())
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"5/minute", "5/m", "100/10s", "1000/hour;burst=20", "1/1ms", "x", "5/", "/", ";burst=", "9/99999999999h", "1/2 days"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRate) {
				t.Fatalf("ParseRate(%q) error %v does not wrap ErrInvalidRate", s, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRate(%q) = %+v which does not validate: %v", s, r, err)
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", s, r, r.String(), back, err)
		}
		// Every accepted rate must decide without overflow or panic.
		st := state{}
		for _, a := range []Algorithm{GCRA, SlidingWindow, FixedWindow} {
			st = state{}
			d := a.apply(&st, 1_700_000_000_000_000_000, r, r.burst())
			if d.Remaining < 0 || d.RetryAfter < 0 || d.ResetAfter < 0 {
				t.Fatalf("%v on %+v: negative figures %+v", a, r, d)
			}
		}
	})
}
