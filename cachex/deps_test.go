package cachex

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPayForWhatYouImport checks that importing cachex links neither
// go-redis nor the Prometheus client: they come with cachex/redisstore and
// cachex/cachemetrics.
func TestPayForWhatYouImport(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/covetgo/covet/cachex").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/redis/", "github.com/prometheus/", "google.golang.org/protobuf"} {
			if strings.HasPrefix(dep, heavy) {
				t.Errorf("cachex links %s", dep)
			}
		}
	}
}
