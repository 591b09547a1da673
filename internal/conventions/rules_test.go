package conventions

import (
	"go/parser"
	"testing"
)

func TestWrapsInvalidConfigRule(t *testing.T) {
	unwraps := map[string]bool{"invalidRate": true}
	tests := []struct {
		expr string
		want bool
	}{
		{`fmt.Errorf("%w: content security policy", ErrInvalidConfig)`, true},
		{`fmt.Errorf("%w", ErrInvalidConfig)`, true},
		{`invalidRate{}`, true},
		{`&invalidRate{}`, true},
		{`errors.New("pkg: invalid thing")`, false},
		{`fmt.Errorf("pkg: %w", ErrInvalidConfig)`, false},
		{`fmt.Errorf("%w: x", ErrOther)`, false},
		{`other{}`, false},
	}
	for _, tt := range tests {
		e, err := parser.ParseExpr(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := wrapsInvalidConfig(e, unwraps); got != tt.want {
			t.Errorf("wrapsInvalidConfig(%s) = %v; want %v", tt.expr, got, tt.want)
		}
	}
}
