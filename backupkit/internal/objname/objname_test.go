package objname

import "testing"

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a.backup", true},
		{"db/20260101T000000.000Z-0a1b2c3d.manifest.json", true},
		{"a/b/c", true},
		{"..a", true},    // a name starting with dots, not a climb
		{"a/.tmp", true}, // only the full temporary prefix is reserved
		{".hidden", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/../../x", false},
		{"a/../b", false}, // not clean
		{"/abs", false},
		{"a//b", false},
		{"a/", false},
		{"./a", false},
		{`a\b`, false},
		{`..\x`, false},
		{TmpPrefix + "x", false},
		{"dir/" + TmpPrefix + "x.backup", false},
	}
	for _, tt := range tests {
		if got := Valid(tt.name); got != tt.ok {
			t.Errorf("Valid(%q) = %v; want %v", tt.name, got, tt.ok)
		}
	}
}
