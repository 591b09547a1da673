package app

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/testenv"
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

// readDeployYAML decodes one manifest of deploy/k8s into v.
func readDeployYAML(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "k8s", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestReadinessWithinProbeTimeout starts the service with the shipped
// ConfigMap's settings, the certificate watch pointed at an endpoint that
// accepts connections and never answers, and asks /ready again and again
// through more than the watch's own timeout: the slowest answer must come
// within the readinessProbe's timeoutSeconds of deployment.yaml, or every
// pod would go NotReady at once when the watched endpoint stalls.
func TestReadinessWithinProbeTimeout(t *testing.T) {
	var deployment struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						ReadinessProbe struct {
							TimeoutSeconds int `yaml:"timeoutSeconds"`
						} `yaml:"readinessProbe"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	readDeployYAML(t, "deployment.yaml", &deployment)
	probeTimeout := time.Duration(deployment.Spec.Template.Spec.Containers[0].ReadinessProbe.TimeoutSeconds) * time.Second
	if probeTimeout <= 0 {
		t.Fatal("deployment.yaml: no readinessProbe.timeoutSeconds")
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	readDeployYAML(t, "configmap.yaml", &cm)
	if cm.Data["TLS_WATCH_ADDR"] == "" {
		t.Fatal("configmap.yaml no longer turns the certificate watch on; this test has nothing to guard")
	}

	pg := testenv.NewPostgres(t)
	rd := testenv.NewRedis(t)
	env := maps.Clone(cm.Data)
	maps.Copy(env, map[string]string{
		// The ConfigMap's stores, secrets and collector are the cluster's;
		// here they are the test's, on loopback without TLS.
		"DATABASE_URL": pg.URL, "REDIS_URL": rd.URL, "ALLOW_INSECURE_TRANSPORT": "true",
		"APP_NAME": strings.TrimSuffix(rd.Prefix, ":"), "DATA_DIR": t.TempDir(), "MIGRATE_ON_START": "true",
		"SECRET_KEY": testenv.RandomID(32), "ADMIN_PASSWORD": "correct horse battery staple",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_SDK_DISABLED": "true", "BACKUP_TARGET": "",
		"TRUSTED_PROXIES": "127.0.0.1/32",
		// The stalled endpoint.
		"TLS_WATCH_ADDR": testenv.SilentAddr(t),
	})
	s := startServer(t, env)

	// Past the certificate check's own timeout, so that a readiness round
	// waiting for it would show here.
	var slowest time.Duration
	n := 0
	for end := time.Now().Add(tlsCheckTimeout + 2*time.Second); time.Now().Before(end); n++ {
		start := time.Now()
		r := s.do("GET", "/ready", "", "", nil)
		if d := time.Since(start); d > slowest {
			slowest = d
		}
		if r.status != 200 {
			t.Fatalf("GET /ready = %d; want 200 (the certificate check is not critical)", r.status)
		}
		time.Sleep(50 * time.Millisecond) // pacing, not synchronisation
	}
	t.Logf("%d readiness answers, slowest %v (probe timeout %v)", n, slowest, probeTimeout)
	if slowest >= probeTimeout {
		t.Errorf("slowest /ready took %v; the readinessProbe gives up after %v", slowest, probeTimeout)
	}
}
