// Command validate checks the deploy assets with the parsers of the tools
// that consume them: every Kubernetes manifest decoded strictly into the
// k8s.io/api types (an unknown field fails), every Prometheus rule file loaded
// by rulefmt with each expression parsed by the PromQL parser, and the
// compose file loaded by compose-go. It is a module of its own so that the
// library's go.mod never depends on these.
//
//	go run . [deploy-dir]    (default ..)
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	dir := ".."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	var errs []error
	errs = append(errs, checkKubernetes(filepath.Join(dir, "k8s"))...)
	errs = append(errs, checkRules(filepath.Join(dir, "prometheus"))...)
	errs = append(errs, checkCompose(filepath.Join(dir, "docker-compose.yml"))...)
	for _, err := range errs {
		fmt.Fprintln(os.Stderr, "validate:", err)
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
	fmt.Println("deploy assets: valid")
}

// kinds maps apiVersion/kind to the type a manifest must decode into.
var kinds = map[string]func() any{
	"v1/Namespace":                           func() any { return new(corev1.Namespace) },
	"v1/ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1/Secret":                              func() any { return new(corev1.Secret) },
	"v1/Service":                             func() any { return new(corev1.Service) },
	"v1/ServiceAccount":                      func() any { return new(corev1.ServiceAccount) },
	"apps/v1/Deployment":                     func() any { return new(appsv1.Deployment) },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"policy/v1/PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"networking.k8s.io/v1/Ingress":           func() any { return new(networkingv1.Ingress) },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return new(networkingv1.NetworkPolicy) },
	"batch/v1/Job":                           func() any { return new(batchv1.Job) },
	"batch/v1/CronJob":                       func() any { return new(batchv1.CronJob) },
}

func checkKubernetes(dir string) []error {
	var errs []error
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	// Templates (the Secret) live apart so kubectl apply -f k8s/ skips them.
	tmpl, _ := filepath.Glob(filepath.Join(dir, "templates", "*.yaml"))
	files = append(files, tmpl...)
	if len(files) == 0 {
		return []error{fmt.Errorf("%s: no manifests", dir)}
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, doc := range splitYAML(data) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				errs = append(errs, fmt.Errorf("%s#%d: %w", f, i, err))
				continue
			}
			mk, ok := kinds[tm.APIVersion+"/"+tm.Kind]
			if !ok {
				errs = append(errs, fmt.Errorf("%s#%d: unknown apiVersion/kind %s/%s", f, i, tm.APIVersion, tm.Kind))
				continue
			}
			if err := yaml.UnmarshalStrict(doc, mk()); err != nil {
				errs = append(errs, fmt.Errorf("%s#%d (%s): %w", f, i, tm.Kind, err))
				continue
			}
			n++
		}
	}
	fmt.Printf("kubernetes: %d manifests decoded strictly\n", n)
	return errs
}

// splitYAML splits a multi-document file, dropping empty documents.
func splitYAML(data []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), data...), []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func stripComments(d []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(d, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func checkRules(dir string) []error {
	var errs []error
	p := parser.NewParser(parser.Options{})
	files, _ := filepath.Glob(filepath.Join(dir, "*rules*.yml"))
	alerts, _ := filepath.Glob(filepath.Join(dir, "alerts*.yml"))
	files = append(files, alerts...)
	// promtool's unit tests (alerts_test.yml) are not rule files.
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.yml") })
	if len(files) == 0 {
		return []error{fmt.Errorf("%s: no rule files", dir)}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := 0
	for _, f := range files {
		groups, perrs := rulefmt.ParseFile(f, false, model.UTF8Validation, p, log)
		errs = append(errs, perrs...)
		if groups == nil {
			continue
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if _, err := p.ParseExpr(r.Expr); err != nil {
					errs = append(errs, fmt.Errorf("%s: %s: %w", f, r.Alert+r.Record, err))
				}
				if r.Alert != "" && r.Annotations["runbook"] == "" {
					errs = append(errs, fmt.Errorf("%s: alert %s has no runbook annotation", f, r.Alert))
				}
				n++
			}
		}
	}
	fmt.Printf("prometheus: %d rules parsed\n", n)
	return errs
}

func checkCompose(file string) []error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return []error{err}
	}
	// Secrets come from files (secrets/), so no variable is required.
	opts, err := cli.NewProjectOptions([]string{abs}, cli.WithWorkingDirectory(filepath.Dir(abs)), cli.WithName("covet"))
	if err != nil {
		return []error{err}
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return []error{fmt.Errorf("%s: %w", file, err)}
	}
	var errs []error
	for _, want := range []string{"app", "nginx", "certs", "postgres", "redis", "redis-security", "prometheus", "alertmanager", "grafana", "backup"} {
		if _, err := project.GetService(want); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	fmt.Printf("compose: %d services loaded\n", len(project.Services))
	return nil
}
