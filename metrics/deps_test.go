package metrics_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoChi: a program using metrics (and its tracing, and
// clientip) on the standard ServeMux does not link chi; only
// metrics/chiroute does.
func TestImportsNoChi(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	for _, tt := range []struct {
		pkg  string
		want bool
	}{
		{"github.com/covetgo/covet/metrics", false},
		{"github.com/covetgo/covet/metrics/tracing", false},
		{"github.com/covetgo/covet/clientip", false},
		{"github.com/covetgo/covet/metrics/chiroute", true},
	} {
		out, err := exec.Command(goBin, "list", "-deps", tt.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", tt.pkg, err, out)
		}
		if got := strings.Contains(string(out), "github.com/go-chi/chi"); got != tt.want {
			t.Errorf("go list -deps %s links chi: %v; want %v", tt.pkg, got, tt.want)
		}
	}
}
