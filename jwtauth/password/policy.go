package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password policy defaults, after NIST SP 800-63B §3.1.1.2.
const (
	defaultMinLength = 12
	defaultMaxLength = 128
)

// CharClass is a set of character classes a [Policy] can require.
type CharClass uint8

// Character classes for [WithCharClasses].
const (
	Upper CharClass = 1 << iota
	Lower
	Digit
	Symbol
)

// PolicyOption configures [NewPolicy].
type PolicyOption func(*Policy)

// WithLength sets the minimum (at least 8) and maximum (at least 64) length,
// counted in Unicode characters.
func WithLength(minLen, maxLen int) PolicyOption {
	return func(p *Policy) { p.min, p.max = minLen, maxLen }
}

// WithCharClasses requires at least one character of each class in classes.
// Off by default: NIST SP 800-63B advises against composition rules, which
// push users to predictable patterns ("Password1!") without adding much
// strength; length and a blocklist do more. Offered for policies that
// mandate them.
func WithCharClasses(classes CharClass) PolicyOption {
	return func(p *Policy) { p.classes = classes }
}

// WithBlocklist adds passwords to refuse, compared case-insensitively, to the
// built-in list of common ones.
func WithBlocklist(passwords ...string) PolicyOption {
	return func(p *Policy) {
		for _, pw := range passwords {
			p.blocked[strings.ToLower(pw)] = true
		}
	}
}

// Policy decides whether a new password is acceptable. Build it with
// [NewPolicy]; safe for concurrent use.
type Policy struct {
	min, max int
	classes  CharClass
	blocked  map[string]bool
}

// NewPolicy returns a policy of at least 12 and at most 128 characters, not
// on the built-in list of common passwords, with no composition rules.
func NewPolicy(opts ...PolicyOption) (*Policy, error) {
	p := &Policy{min: defaultMinLength, max: defaultMaxLength, blocked: map[string]bool{}}
	for _, pw := range commonPasswords {
		p.blocked[pw] = true
	}
	for _, o := range opts {
		o(p)
	}
	switch {
	case p.min < 8:
		return nil, fmt.Errorf("%w: minimum password length %d below 8", ErrInvalidConfig, p.min)
	case p.max < 64 || p.max < p.min || p.max > maxPasswordBytes:
		return nil, fmt.Errorf("%w: maximum password length %d outside [max(64, minimum), %d]", ErrInvalidConfig, p.max, maxPasswordBytes)
	case p.classes > Upper|Lower|Digit|Symbol:
		return nil, fmt.Errorf("%w: unknown character classes %#x", ErrInvalidConfig, p.classes)
	}
	return p, nil
}

// Check returns nil if password is acceptable, or an error wrapping
// [ErrPolicy] and one of [ErrTooShort], [ErrTooLong],
// [ErrCommon] or [ErrClasses]. context lists words the
// password must not equal, such as the username and the service's name.
func (p *Policy) Check(password string, context ...string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.min:
		return fmt.Errorf("%w: %w (minimum %d characters)", ErrPolicy, ErrTooShort, p.min)
	case n > p.max:
		return fmt.Errorf("%w: %w (maximum %d characters)", ErrPolicy, ErrTooLong, p.max)
	}
	lower := strings.ToLower(password)
	if p.blocked[lower] {
		return fmt.Errorf("%w: %w", ErrPolicy, ErrCommon)
	}
	for _, w := range context {
		if w != "" && strings.ToLower(w) == lower {
			return fmt.Errorf("%w: %w", ErrPolicy, ErrCommon)
		}
	}
	if p.classes != 0 {
		var have CharClass
		for _, r := range password {
			switch {
			case unicode.IsUpper(r):
				have |= Upper
			case unicode.IsLower(r):
				have |= Lower
			case unicode.IsDigit(r):
				have |= Digit
			default:
				have |= Symbol
			}
		}
		if have&p.classes != p.classes {
			return fmt.Errorf("%w: %w", ErrPolicy, ErrClasses)
		}
	}
	return nil
}

// commonPasswords are frequent passwords of 12 characters or more from
// public breach corpora, lower-cased; shorter ones already fail the default
// minimum length. A service should also check a breach corpus such as the
// Pwned Passwords range API.
var commonPasswords = []string{
	"123456789012", "1234567890123", "12345678901234", "123456789123",
	"1q2w3e4r5t6y", "1qaz2wsx3edc", "qwertyuiop12", "qwertyuiop123",
	"qwertyuiopasdfghjkl", "qwerty123456", "asdfghjkl123", "zxcvbnm12345",
	"password1234", "password12345", "password123456", "passwordpassword",
	"iloveyou1234", "letmein12345", "welcome12345", "administrator",
	"administrator1", "changeme1234", "trustno11234", "football1234",
	"baseball1234", "superman1234", "princess1234", "sunshine1234",
	"starwars1234", "whatever1234", "abcdefghijkl", "abcdefghijklm",
	"abc123456789", "aaaaaaaaaaaa", "111111111111", "000000000000",
	"999999999999", "987654321987", "098765432109", "qazwsxedcrfv",
	"1q2w3e4r5t6y7u", "q1w2e3r4t5y6", "p@ssw0rd1234", "passw0rd1234",
	"correcthorsebatterystaple", "mypassword123", "secretpassword", "masterpassword",
	"qwertyqwerty", "123qweasdzxc", "password!234", "welcome2024!",
	"welcome2025!", "welcome2026!", "summer2024!!", "winter2024!!",
}
