package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// The example binary, built once for the render tests.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

func exampleBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "covet-example-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "covet-example")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building the example: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// configValidate runs "covet-example config validate" with exactly env, as
// the container would start it.
func configValidate(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	cmd := exec.Command(exampleBinary(t), "config", "validate")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

var placeholderRE = regexp.MustCompile(`<([A-Z0-9_]+)[^>]*>`)

// generated returns a value of the kind each placeholder stands for, as an
// operator would generate it.
func generated(name string) string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	switch name {
	case "SECRET_KEY":
		return base64.StdEncoding.EncodeToString(b)
	case "SENTRY_DSN":
		return "https://" + hex.EncodeToString(b[:16]) + "@o1.ingest.sentry.io/42"
	case "S3_ACCESS_KEY":
		return strings.ToUpper(hex.EncodeToString(b[:10]))
	}
	return hex.EncodeToString(b[:24])
}

// fill replaces every <NAME…> placeholder in s with generated(NAME), the
// same value for the same name.
func fill(s string, values map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if _, ok := values[name]; !ok {
			values[name] = generated(name)
		}
		return values[name]
	})
}

// k8sEnv renders what the container named in a workload sees: its
// envFrom ConfigMap and Secret, then its env.
func k8sEnv(t *testing.T, c corev1.Container, cm *corev1.ConfigMap, secret map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil && from.ConfigMapRef.Name == cm.Name:
			for k, v := range cm.Data {
				env[k] = v
			}
		case from.SecretRef != nil:
			for k, v := range secret {
				env[k] = v
			}
		default:
			t.Fatalf("container %s: envFrom %+v is not the shipped ConfigMap or Secret", c.Name, from)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secret[e.ValueFrom.SecretKeyRef.Key]
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
	}
	return env
}

// TestKubernetesConfigValidates renders the Deployment's and the backup
// CronJob's environment from the shipped ConfigMap and the Secret template
// and runs config validate on it: valid with the placeholders filled by
// generated values, refused naming every variable while one is left.
func TestKubernetesConfigValidates(t *testing.T) {
	var cm corev1.ConfigMap
	var secret corev1.Secret
	var dep appsv1.Deployment
	var cron batchv1.CronJob
	readManifest(t, "configmap.yaml", &cm)
	readManifest(t, filepath.Join("templates", "secret.yaml"), &secret)
	readManifest(t, "deployment.yaml", &dep)
	readManifest(t, "backup-cronjob.yaml", &cron)
	if _, err := os.Stat(filepath.Join("..", "k8s", "secret.template.yaml")); err == nil {
		t.Error("a Secret template in k8s/ is applied by kubectl apply -f k8s/, over the real Secret")
	}

	var left []string
	for k, v := range secret.StringData {
		if placeholderRE.MatchString(v) {
			left = append(left, k)
		}
	}
	slices.Sort(left)
	if len(left) == 0 {
		t.Fatal("the Secret template has no <…> placeholders")
	}
	values := map[string]string{}
	filled := map[string]string{}
	for k, v := range secret.StringData {
		filled[k] = fill(v, values)
	}
	for _, w := range []struct {
		name string
		c    corev1.Container
	}{
		{"deployment", dep.Spec.Template.Spec.Containers[0]},
		{"backup cronjob", cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0]},
	} {
		t.Run(w.name, func(t *testing.T) {
			out, err := configValidate(t, k8sEnv(t, w.c, &cm, filled))
			if err != nil {
				t.Fatalf("config validate with the Secret filled: %v\n%s", err, out)
			}
			out, err = configValidate(t, k8sEnv(t, w.c, &cm, secret.StringData))
			if err == nil {
				t.Fatalf("config validate accepted the Secret template's placeholders:\n%s", out)
			}
			for _, k := range left {
				if !strings.Contains(out, k+": looks like a placeholder") {
					t.Errorf("the refusal does not name %s:\n%s", k, out)
				}
			}
		})
	}
	// The keys the workloads read must all be in the template.
	for _, k := range []string{"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ADMIN_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY", "SENTRY_DSN"} {
		if _, ok := secret.StringData[k]; !ok {
			t.Errorf("the Secret template lacks %s", k)
		}
	}
	if !strings.HasPrefix(secret.StringData["REDIS_URL"], "rediss://") {
		t.Errorf("the Secret template's REDIS_URL is not rediss://; production refuses plain Redis")
	}
}

// TestComposeConfigValidates does the same for the compose stack: the app
// service's environment as compose-go resolves it, its secret files
// copied from secrets.example/ and filled, then left as shipped.
func TestComposeConfigValidates(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"app", "backup"} {
		t.Run(name, func(t *testing.T) {
			svc, err := p.GetService(name)
			if err != nil {
				t.Fatal(err)
			}
			render := func(dir string, fillIn bool) (map[string]string, []string) {
				env := composeEnv(svc)
				values := map[string]string{}
				var left []string
				for k, v := range env {
					secretName, ok := strings.CutPrefix(v, "/run/secrets/")
					if !ok || !strings.HasSuffix(k, "_FILE") {
						continue
					}
					src, ok := p.Secrets[secretName]
					if !ok {
						t.Fatalf("%s: %s names secret %q, which the file does not define", name, k, secretName)
					}
					example := filepath.Join("..", "secrets.example", filepath.Base(src.File))
					data, err := os.ReadFile(example)
					if err != nil {
						t.Fatalf("no template for secret %s: %v", secretName, err)
					}
					content := string(data)
					if placeholderRE.MatchString(content) {
						left = append(left, strings.TrimSuffix(k, "_FILE"))
					}
					if fillIn {
						content = fill(content, values)
					}
					path := filepath.Join(dir, secretName)
					if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
					env[k] = path
				}
				return env, left
			}
			env, _ := render(t.TempDir(), true)
			if out, err := configValidate(t, env); err != nil {
				t.Fatalf("config validate with the secret files filled: %v\n%s", err, out)
			}
			if env["ENVIRONMENT"] != "production" {
				return // placeholders are refused in production only
			}
			env, left := render(t.TempDir(), false)
			out, err := configValidate(t, env)
			if err == nil {
				t.Fatalf("config validate accepted the shipped placeholders:\n%s", out)
			}
			for _, k := range left {
				if !strings.Contains(out, k+": looks like a placeholder") {
					t.Errorf("the refusal does not name %s:\n%s", k, out)
				}
			}
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
