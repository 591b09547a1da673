package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidRate is wrapped by every error that reports a malformed or
// out-of-range rate, from [ParseRate] and from the constructors. It wraps
// [ErrInvalidConfig], as every configuration error of this package does.
var ErrInvalidRate error = invalidRate{}

// invalidRate is ErrInvalidRate: a sentinel that is also an
// ErrInvalidConfig without repeating its message.
type invalidRate struct{}

func (invalidRate) Error() string { return "ratelimit: invalid rate" }
func (invalidRate) Unwrap() error { return ErrInvalidConfig }

// maxPeriod bounds a rate's period so that period arithmetic in nanoseconds
// and in Redis microseconds can never overflow.
const maxPeriod = 366 * 24 * time.Hour

// maxLimit bounds Limit and Burst for the same reason.
const maxLimit = 1 << 40

// Rate is a limit of Limit units of cost per Period, with a burst.
//
// Burst is how much cost GCRA lets through at once from an idle key; zero
// means Burst = Limit (the whole period's quota may be spent at once, as with
// a window). The window algorithms ignore Burst.
//
// The zero Rate is invalid; build one with [PerSecond], [PerMinute],
// [PerHour], [NewRate] or [ParseRate].
type Rate struct {
	Limit  int64
	Period time.Duration
	Burst  int64
}

// PerSecond returns a rate of n per second.
func PerSecond(n int64) Rate { return Rate{Limit: n, Period: time.Second} }

// PerMinute returns a rate of n per minute.
func PerMinute(n int64) Rate { return Rate{Limit: n, Period: time.Minute} }

// PerHour returns a rate of n per hour.
func PerHour(n int64) Rate { return Rate{Limit: n, Period: time.Hour} }

// WithBurst returns a copy of r with its burst set to b.
func (r Rate) WithBurst(b int64) Rate { r.Burst = b; return r }

// burst returns the effective burst.
func (r Rate) burst() int64 {
	if r.Burst == 0 {
		return r.Limit
	}
	return r.Burst
}

// Validate reports, wrapped in [ErrInvalidRate], what is wrong with r.
func (r Rate) Validate() error {
	switch {
	case r.Limit <= 0:
		return fmt.Errorf("%w: limit %d must be positive", ErrInvalidRate, r.Limit)
	case r.Limit > maxLimit:
		return fmt.Errorf("%w: limit %d is larger than %d", ErrInvalidRate, r.Limit, int64(maxLimit))
	case r.Period < time.Millisecond:
		return fmt.Errorf("%w: period %v must be at least 1ms", ErrInvalidRate, r.Period)
	case r.Period > maxPeriod:
		return fmt.Errorf("%w: period %v is longer than %v", ErrInvalidRate, r.Period, maxPeriod)
	case r.Burst < 0:
		return fmt.Errorf("%w: burst %d must not be negative", ErrInvalidRate, r.Burst)
	case r.Burst > maxLimit:
		return fmt.Errorf("%w: burst %d is larger than %d", ErrInvalidRate, r.Burst, int64(maxLimit))
	case float64(r.burst())*float64(r.Period)/float64(r.Limit) > float64(maxPeriod):
		return fmt.Errorf("%w: burst %d takes longer than %v to refill", ErrInvalidRate, r.Burst, maxPeriod)
	}
	return nil
}

// String formats r in the syntax [ParseRate] reads, e.g. "5/1m0s" or
// "1000/1h0m0s;burst=20".
func (r Rate) String() string {
	s := strconv.FormatInt(r.Limit, 10) + "/" + r.Period.String()
	if r.Burst != 0 {
		s += ";burst=" + strconv.FormatInt(r.Burst, 10)
	}
	return s
}

var unitNames = map[string]time.Duration{
	"ms": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseRate reads a rate written as "<limit>/<period>[;burst=<n>]".
//
// The period is a unit name (ms, s, sec, second, m, min, minute, h, hour, d,
// day, and plurals), a count and a unit ("10s", "15m", "2 hours"), or any
// [time.ParseDuration] string ("1m30s"). Examples: "5/minute", "5/m",
// "100/10s", "1000/hour;burst=20". Errors wrap [ErrInvalidRate] and say which
// part is wrong.
func ParseRate(s string) (Rate, error) {
	orig := s
	s = strings.TrimSpace(s)
	var burstPart string
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s, burstPart = s[:i], s[i+1:]
	}
	limitStr, periodStr, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%w: %q: want <limit>/<period>, e.g. 5/minute", ErrInvalidRate, orig)
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(limitStr), 10, 64)
	if err != nil {
		return Rate{}, fmt.Errorf("%w: %q: limit %q is not a whole number", ErrInvalidRate, orig, strings.TrimSpace(limitStr))
	}
	period, err := parsePeriod(strings.TrimSpace(periodStr))
	if err != nil {
		return Rate{}, fmt.Errorf("%w: %q: %v", ErrInvalidRate, orig, err)
	}
	r := Rate{Limit: limit, Period: period}
	if burstPart != "" {
		name, val, ok := strings.Cut(burstPart, "=")
		if !ok || strings.TrimSpace(name) != "burst" {
			return Rate{}, fmt.Errorf("%w: %q: option %q: only burst=<n> is known", ErrInvalidRate, orig, strings.TrimSpace(burstPart))
		}
		b, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil || b <= 0 {
			return Rate{}, fmt.Errorf("%w: %q: burst %q is not a positive whole number", ErrInvalidRate, orig, strings.TrimSpace(val))
		}
		r.Burst = b
	}
	if err := r.Validate(); err != nil {
		return Rate{}, fmt.Errorf("%w (in %q)", err, orig)
	}
	return r, nil
}

func parsePeriod(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("period is empty")
	}
	if d, ok := unitNames[strings.ToLower(s)]; ok {
		return d, nil
	}
	// A count followed by a unit name: "10s", "2 hours".
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) {
		unit := strings.ToLower(strings.TrimSpace(s[i:]))
		if d, ok := unitNames[unit]; ok {
			n, err := strconv.ParseInt(s[:i], 10, 64)
			if err != nil || n <= 0 || n > int64(maxPeriod/d) {
				return 0, fmt.Errorf("period %q is out of range", s)
			}
			return time.Duration(n) * d, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("period %q is not a duration or unit (e.g. minute, 10s, 1h30m)", s)
	}
	return d, nil
}
