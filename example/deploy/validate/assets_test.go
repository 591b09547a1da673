package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// Connections PostgreSQL keeps beside the service's pools: its
// superuser_reserved_connections and an operator's psql sessions.
const (
	superuserReserved = 3
	operatorSlack     = 5
	// migrateConns is what "migrate up" opens (its pool is fixed at 2 in
	// example/app/migrate.go).
	migrateConns = 2
)

func readManifest(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "k8s", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{abs}, cli.WithWorkingDirectory(filepath.Dir(abs)), cli.WithName("covet"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func envInt(t *testing.T, what string, m map[string]string, k string) int {
	t.Helper()
	n, err := strconv.Atoi(m[k])
	if err != nil {
		t.Fatalf("%s: %s = %q: %v", what, k, m[k], err)
	}
	return n
}

func containerEnv(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func composeEnv(s types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

// TestPgDumpNotOlderThanServer: pg_dump refuses a server of a newer major
// version, so the backup image's client must be at least every PostgreSQL
// the assets run or name (compose, the CI/CD template's service).
func TestPgDumpNotOlderThanServer(t *testing.T) {
	df, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`postgresql-client-(\d+)`).FindSubmatch(df)
	if m == nil {
		t.Fatal("Dockerfile: the backup stage names no postgresql-client-NN (the major must be explicit)")
	}
	client, _ := strconv.Atoi(string(m[1]))
	servers := 0
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`image:\s*"?postgres:(\d+)`).FindAllSubmatch(data, -1) {
			servers++
			if v, _ := strconv.Atoi(string(m[1])); v > client {
				t.Errorf("%s runs PostgreSQL %d; the backup image's pg_dump is %d and cannot dump it", path, v, client)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if servers == 0 {
		t.Fatal("no PostgreSQL image found under deploy/")
	}
}

// TestConnectionBudget: every pool at its maximum, at the HPA's maximum
// plus a rollout's surge, with the migrate Job and a backup running, fits
// in max_connections with the superuser's reserve and an operator's room.
func TestConnectionBudget(t *testing.T) {
	var hpa autoscalingv2.HorizontalPodAutoscaler
	var dep appsv1.Deployment
	var cm corev1.ConfigMap
	var cron batchv1.CronJob
	readManifest(t, "hpa.yaml", &hpa)
	readManifest(t, "deployment.yaml", &dep)
	readManifest(t, "configmap.yaml", &cm)
	readManifest(t, "backup-cronjob.yaml", &cron)
	maxConns, err := strconv.Atoi(hpa.Annotations["covet.example/postgres-max-connections"])
	if err != nil {
		t.Fatalf("hpa.yaml: annotation covet.example/postgres-max-connections: %v", err)
	}
	perPod := envInt(t, "configmap", cm.Data, "DATABASE_POOL_SIZE") + envInt(t, "configmap", cm.Data, "DATABASE_MAX_OVERFLOW")
	surge := dep.Spec.Strategy.RollingUpdate.MaxSurge.IntValue()
	pods := int(hpa.Spec.MaxReplicas) + surge
	benv := containerEnv(cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0])
	backup := envInt(t, "backup", benv, "DATABASE_POOL_SIZE") + envInt(t, "backup", benv, "DATABASE_MAX_OVERFLOW") + 1 // + pg_dump
	need := pods*perPod + migrateConns + backup + superuserReserved + operatorSlack
	t.Logf("kubernetes: %d pods x %d + migrate %d + backup %d + reserved %d + operator %d = %d of %d",
		pods, perPod, migrateConns, backup, superuserReserved, operatorSlack, need, maxConns)
	if need > maxConns {
		t.Errorf("kubernetes: %d connections at the HPA's maximum; PostgreSQL allows %d", need, maxConns)
	}

	p := loadCompose(t)
	app, _ := p.GetService("app")
	pgsvc, _ := p.GetService("postgres")
	bsvc, _ := p.GetService("backup")
	cmax := 100 // PostgreSQL's default
	for i, a := range pgsvc.Command {
		if v, ok := strings.CutPrefix(a, "max_connections="); ok && i > 0 && pgsvc.Command[i-1] == "-c" {
			cmax, _ = strconv.Atoi(v)
		}
	}
	aenv, benv2 := composeEnv(app), composeEnv(bsvc)
	replicas := 1
	if app.Deploy != nil && app.Deploy.Replicas != nil {
		replicas = *app.Deploy.Replicas
	}
	cneed := replicas*(envInt(t, "compose app", aenv, "DATABASE_POOL_SIZE")+envInt(t, "compose app", aenv, "DATABASE_MAX_OVERFLOW")) +
		migrateConns + envInt(t, "compose backup", benv2, "DATABASE_POOL_SIZE") + envInt(t, "compose backup", benv2, "DATABASE_MAX_OVERFLOW") + 1 +
		superuserReserved + operatorSlack
	t.Logf("compose: %d connections of %d", cneed, cmax)
	if cneed > cmax {
		t.Errorf("compose: %d connections with every pool full; max_connections is %d", cneed, cmax)
	}
}

// TestMemoryLimits: GOMEMLIMIT between 60 and 80 % of the container's
// memory limit (room for the heap's overshoot and non-heap memory, yet
// the collector works before the kernel kills), in Kubernetes and compose.
func TestMemoryLimits(t *testing.T) {
	check := func(what, gomem string, limit int64) {
		t.Helper()
		q, err := resource.ParseQuantity(strings.TrimSuffix(gomem, "B"))
		if err != nil || limit == 0 {
			t.Errorf("%s: GOMEMLIMIT %q, memory limit %d: want both", what, gomem, limit)
			return
		}
		ratio := float64(q.Value()) / float64(limit)
		t.Logf("%s: GOMEMLIMIT %s of %d MiB = %.2f", what, gomem, limit>>20, ratio)
		if ratio < 0.6 || ratio > 0.8 {
			t.Errorf("%s: GOMEMLIMIT is %.0f%% of the memory limit; want 60-80%%", what, ratio*100)
		}
	}
	var dep appsv1.Deployment
	readManifest(t, "deployment.yaml", &dep)
	c := dep.Spec.Template.Spec.Containers[0]
	check("deployment.yaml", containerEnv(c)["GOMEMLIMIT"], c.Resources.Limits.Memory().Value())

	app, _ := loadCompose(t).GetService("app")
	var lim int64
	if app.Deploy != nil && app.Deploy.Resources.Limits != nil {
		lim = int64(app.Deploy.Resources.Limits.MemoryBytes)
	}
	check("docker-compose.yml", composeEnv(app)["GOMEMLIMIT"], lim)
}

// TestAutoscalingAndDisruption: the HPA owns the replica count, and the
// PodDisruptionBudget still lets a node drain evict a pod at the HPA's
// minimum.
func TestAutoscalingAndDisruption(t *testing.T) {
	var hpa autoscalingv2.HorizontalPodAutoscaler
	var dep appsv1.Deployment
	var pdb policyv1.PodDisruptionBudget
	readManifest(t, "hpa.yaml", &hpa)
	readManifest(t, "deployment.yaml", &dep)
	readManifest(t, "pdb.yaml", &pdb)
	if hpa.Spec.ScaleTargetRef.Name != dep.Name {
		t.Fatalf("the HPA scales %q, not the Deployment %q", hpa.Spec.ScaleTargetRef.Name, dep.Name)
	}
	if dep.Spec.Replicas != nil {
		t.Errorf("deployment.yaml sets replicas: %d under an HPA; every apply would reset the HPA's count", *dep.Spec.Replicas)
	}
	min := int(*hpa.Spec.MinReplicas)
	if min < 2 {
		t.Errorf("HPA minReplicas %d: one pod is no redundancy", min)
	}
	var disruptions int
	switch {
	case pdb.Spec.MinAvailable != nil:
		disruptions = min - pdb.Spec.MinAvailable.IntValue()
	case pdb.Spec.MaxUnavailable != nil:
		disruptions = pdb.Spec.MaxUnavailable.IntValue()
	}
	if disruptions < 1 {
		t.Errorf("at the HPA's minimum of %d pods the PodDisruptionBudget allows %d evictions: a node drain would hang", min, disruptions)
	}
}

// TestComposeSmallProduction: the compose file as a small production.
func TestComposeSmallProduction(t *testing.T) {
	p := loadCompose(t)
	app, _ := p.GetService("app")
	if app.Deploy == nil || app.Deploy.Replicas == nil || *app.Deploy.Replicas < 2 {
		t.Error("app: want at least 2 replicas (deploy.replicas)")
	}
	env := composeEnv(app)
	for _, k := range []string{"SECRET_KEY", "ADMIN_PASSWORD", "DATABASE_URL"} {
		if env[k] != "" || env[k+"_FILE"] == "" {
			t.Errorf("app: %s must come from a secret file (%s_FILE), not the environment", k, k)
		}
	}
	for _, k := range []string{"POSTGRES_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD"} {
		for _, s := range p.Services {
			if v, ok := s.Environment[k]; ok && v != nil {
				t.Errorf("%s: %s in the environment; use the _FILE form", s.Name, k)
			}
		}
	}
	for _, s := range p.Services {
		if s.Logging == nil || s.Logging.Options["max-size"] == "" || s.Logging.Options["max-file"] == "" {
			t.Errorf("%s: no log rotation (logging.options max-size, max-file)", s.Name)
		}
		oneShot := s.Restart == "no"
		if !oneShot && (s.Deploy == nil || s.Deploy.Resources.Limits == nil || s.Deploy.Resources.Limits.MemoryBytes == 0) {
			t.Errorf("%s: no memory limit (deploy.resources.limits.memory)", s.Name)
		}
		hasCheck := s.HealthCheck != nil && !s.HealthCheck.Disable && len(s.HealthCheck.Test) > 0
		if !oneShot && !hasCheck && s.Extensions["x-healthcheck-by"] == nil {
			t.Errorf("%s: long-running with no healthcheck (or x-healthcheck-by saying who watches it)", s.Name)
		}
		for _, port := range s.Ports {
			if s.Name != "nginx" && port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d published on all interfaces; only nginx faces the network", s.Name, port.Target)
			}
		}
	}
	if _, err := p.GetService("backup"); err != nil {
		t.Error("no backup service")
	}
	for _, want := range []string{"postgres-exporter", "redis-exporter", "node-exporter"} {
		if _, err := p.GetService(want); err != nil {
			t.Errorf("no %s", want)
		}
	}
	prom, err := os.ReadFile(filepath.Join("..", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"postgres-exporter:9187", "redis-exporter:9121", "node-exporter:9100", "port: 8081"} {
		if !strings.Contains(string(prom), target) {
			t.Errorf("prometheus.yml does not scrape %s", target)
		}
	}
}

// TestNginxTLS: TLS 1.2 and 1.3 only, and for 1.2 a cipher list of
// forward-secret (ECDHE) AEAD suites only; limit_req on every TLS server.
func TestNginxTLS(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "nginx", "*.conf"))
	if len(files) == 0 {
		t.Fatal("no nginx configs")
	}
	aead := regexp.MustCompile(`^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		conf := string(data)
		protos := regexp.MustCompile(`(?m)^\s*ssl_protocols\s+([^;]+);`).FindStringSubmatch(conf)
		if protos == nil || !slices.Equal(strings.Fields(protos[1]), []string{"TLSv1.2", "TLSv1.3"}) {
			t.Errorf("%s: ssl_protocols = %v; want TLSv1.2 TLSv1.3", f, protos)
		}
		ciphers := regexp.MustCompile(`(?m)^\s*ssl_ciphers\s+([^;]+);`).FindStringSubmatch(conf)
		if ciphers == nil {
			t.Errorf("%s: no ssl_ciphers (nginx's default admits CBC and non-forward-secret suites for TLS 1.2)", f)
		} else {
			for _, c := range strings.Split(strings.Trim(ciphers[1], `"' `), ":") {
				if !aead.MatchString(c) {
					t.Errorf("%s: cipher %s is not ECDHE with an AEAD", f, c)
				}
			}
		}
		if !strings.Contains(conf, "limit_req_zone") || !regexp.MustCompile(`(?m)^\s*limit_req\s+zone=`).MatchString(conf) {
			t.Errorf("%s: no limit_req at the edge", f)
		}
	}
}

// TestDockerfile: base images by digest, a non-root user, a data
// directory that user can write, and a .dockerignore for the context.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 3 {
		t.Fatalf("Dockerfile: %d FROM lines; want build, backup and app", len(froms))
	}
	for _, m := range froms {
		if !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(m[1]) {
			t.Errorf("Dockerfile: FROM %s is not pinned by digest", m[1])
		}
	}
	if regexp.MustCompile(`(?m)^USER\s+(0|root)\b`).MatchString(df) || strings.Count(df, "\nUSER 65532:65532") < 2 {
		t.Error("Dockerfile: both runtime images must run as 65532:65532")
	}
	if !strings.Contains(df, "--chown=65532:65532") || !strings.Contains(df, " /data\n") {
		t.Error("Dockerfile: /data must be created owned by the non-root user")
	}
	if _, err := os.Stat(filepath.Join("..", "Dockerfile.dockerignore")); err != nil {
		t.Errorf("no Dockerfile.dockerignore: %v", err)
	}
}

// TestEveryAlertHasAUnitTest: alerts_test.yml exercises every alert of
// alerts.yml (promtool runs it in CI).
func TestEveryAlertHasAUnitTest(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
			} `json:"rules"`
		} `json:"groups"`
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	for name, v := range map[string]any{"alerts.yml": &rules, "alerts_test.yml": &tests} {
		data, err := os.ReadFile(filepath.Join("..", "prometheus", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			fires[a.Alertname] = fires[a.Alertname] || len(a.ExpAlerts) > 0
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !fires[r.Alert] {
				t.Errorf("alert %s has no unit test in which it fires", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no alerts found")
	}
}
