package app

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const deployDir = "../deploy"

// deployExpressions parses every YAML and JSON file under deploy/ (failing
// the test on any that does not parse) and returns the PromQL expressions
// found in Prometheus rules ("expr") and Grafana panels ("targets[].expr").
func deployExpressions(t *testing.T) []string {
	t.Helper()
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "expr" {
					exprs = append(exprs, s)
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	n := 0
	err := filepath.WalkDir(deployDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch filepath.Ext(path) {
		case ".json":
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			walk(v)
			n++
		case ".yml", ".yaml":
			dec := yaml.NewDecoder(strings.NewReader(string(data)))
			for {
				var v any
				err := dec.Decode(&v)
				if err != nil {
					if err.Error() != "EOF" {
						t.Errorf("%s: %v", path, err)
					}
					break
				}
				walk(v)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("parsed %d YAML/JSON files under deploy/; want the full set", n)
	}
	return exprs
}

var (
	promIdent   = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promStrings = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promLabels  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges  = regexp.MustCompile(`\[[^\]]*\]`)
	promGroup   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
)

var promWords = map[string]bool{
	"sum": true, "rate": true, "irate": true, "increase": true, "histogram_quantile": true, "by": true,
	"without": true, "clamp_min": true, "clamp_max": true, "avg": true, "max": true, "min": true, "count": true,
	"and": true, "or": true, "unless": true, "on": true, "ignoring": true, "le": true, "topk": true,
	"bottomk": true, "abs": true, "time": true, "vector": true, "scalar": true, "e": true,
	"absent": true, "delta": true, "deriv": true, "avg_over_time": true, "max_over_time": true,
	// up is Prometheus's own series for every target, not the service's.
	"up": true, "Inf": true, "NaN": true,
}

// otherExporters are the prefixes of metrics that the exporters beside the
// service expose (PostgreSQL, Redis, node), not the service itself.
var otherExporters = []string{"pg_", "redis_", "node_", "otelcol_", "tempo_"}

// metricNames returns the metric names an expression reads.
func metricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, `""`)
	e = promLabels.ReplaceAllString(e, " ")
	e = promRanges.ReplaceAllString(e, " ")
	e = promGroup.ReplaceAllString(e, " ")
	var out []string
	for _, m := range promIdent.FindAllStringIndex(e, -1) {
		w := e[m[0]:m[1]]
		if promWords[w] || (m[1] < len(e) && e[m[1]] == '(') {
			continue
		}
		if m[0] > 0 && (e[m[0]-1] >= '0' && e[m[0]-1] <= '9' || e[m[0]-1] == '.') {
			continue // a number such as 1e-9
		}
		// Recording rules (level:metric:operations) are Prometheus's own.
		if strings.Contains(w, ":") || slices.ContainsFunc(otherExporters, func(p string) bool { return strings.HasPrefix(w, p) }) {
			continue
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func TestMetricNames(t *testing.T) {
	got := metricNames(`histogram_quantile(0.95, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket{status=~"5.."}[5m]))) / clamp_min(sum(http_requests_total), 1e-9) > 0.5 < +Inf or covet:sli_error_ratio:rate5m > sum(pg_stat_activity_count)`)
	want := []string{"http_request_duration_seconds_bucket", "http_requests_total"}
	if !slices.Equal(got, want) {
		t.Fatalf("metricNames = %v; want %v", got, want)
	}
}
