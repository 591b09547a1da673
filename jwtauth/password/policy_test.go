package password

import (
	"errors"
	"strings"
	"testing"
)

func TestPolicyDefaults(t *testing.T) {
	p, err := NewPolicy()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		password string
		context  []string
		want     error
	}{
		{"correct horse battery", nil, nil},
		{"short pass", nil, ErrTooShort},
		{"ééééééééééé", nil, ErrTooShort}, // 11 characters, 22 bytes
		{"éééééééééééé", nil, nil},        // 12 characters
		{strings.Repeat("a", 128) + "b", nil, ErrTooLong},
		{strings.Repeat("ab", 64), nil, nil},
		{"Password1234", nil, ErrCommon},
		{"QWERTYUIOP123", nil, ErrCommon},
		{"ada.lovelace@example.com", []string{"", "Ada.Lovelace@example.com"}, ErrCommon},
		{"alllowercaseletters", nil, nil}, // no composition rules by default
	}
	for _, tt := range tests {
		err := p.Check(tt.password, tt.context...)
		if !errors.Is(err, tt.want) || (tt.want != nil && !errors.Is(err, ErrPolicy)) {
			t.Errorf("Check(%q) = %v; want %v", tt.password, err, tt.want)
		}
	}
}

func TestPolicyOptions(t *testing.T) {
	p, err := NewPolicy(WithLength(16, 64), WithCharClasses(Upper|Lower|Digit|Symbol), WithBlocklist("Covet-Service-2026!"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		password string
		want     error
	}{
		{"Abcdefghijklmno1!", nil},
		{"Abcdefgh1!", ErrTooShort},
		{strings.Repeat("Ab1!", 17), ErrTooLong},
		{"abcdefghijklmno1!", ErrClasses},
		{"ABCDEFGHIJKLMNO1!", ErrClasses},
		{"Abcdefghijklmnop!", ErrClasses},
		{"Abcdefghijklmnop1", ErrClasses},
		{"covet-service-2026!", ErrCommon},
	}
	for _, tt := range tests {
		if err := p.Check(tt.password); !errors.Is(err, tt.want) {
			t.Errorf("Check(%q) = %v; want %v", tt.password, err, tt.want)
		}
	}
	for name, opts := range map[string][]PolicyOption{
		"min below 8":     {WithLength(6, 64)},
		"max below 64":    {WithLength(12, 32)},
		"max below min":   {WithLength(100, 80)},
		"max over cap":    {WithLength(12, 5000)},
		"unknown classes": {WithCharClasses(1 << 6)},
	} {
		if _, err := NewPolicy(opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewPolicy(%s) = nil error", name)
		}
	}
}

func TestCommonPasswordsAreLowerCase(t *testing.T) {
	for _, pw := range commonPasswords {
		if pw != strings.ToLower(pw) || len([]rune(pw)) < defaultMinLength {
			t.Errorf("common password %q must be lower case and at least %d characters", pw, defaultMinLength)
		}
	}
}
