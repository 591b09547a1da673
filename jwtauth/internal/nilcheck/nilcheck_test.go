package nilcheck

import (
	"bytes"
	"io"
	"testing"
)

func TestIsNil(t *testing.T) {
	var buf *bytes.Buffer
	var w io.Writer = buf
	var f func()
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"untyped nil", nil, true},
		{"typed nil pointer", buf, true},
		{"interface holding a nil pointer", w, true},
		{"nil func", f, true},
		{"nil map", map[string]int(nil), true},
		{"pointer", new(bytes.Buffer), false},
		{"func", func() {}, false},
		{"struct", struct{}{}, false},
		{"int", 0, false},
	}
	for _, tt := range tests {
		if got := IsNil(tt.v); got != tt.want {
			t.Errorf("IsNil(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
}
