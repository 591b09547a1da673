package typednil

import (
	"io"
	"testing"
)

type closer struct{}

func (*closer) Close() error { return nil }

func TestIs(t *testing.T) {
	var nilCloser io.Closer = (*closer)(nil)
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"nil", nil, true},
		{"typed nil pointer", (*closer)(nil), true},
		{"typed nil in interface", nilCloser, true},
		{"nil map", map[string]int(nil), true},
		{"nil func", (func())(nil), true},
		{"pointer", &closer{}, false},
		{"value", 3, false},
		{"empty struct", struct{}{}, false},
	}
	for _, tt := range tests {
		if got := Is(tt.v); got != tt.want {
			t.Errorf("Is(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
}
