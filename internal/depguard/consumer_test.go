package depguard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// LowestGo is the lowest Go release covet supports (the two most recent
// releases are supported); the library's go directive must not exceed it.
const LowestGo = "1.25.0"

// consumerPins are a user's own, older versions of libraries covet also
// uses. Adding a covet package must leave them as they are, so each must be
// at least the version covet's go.mod requires.
var consumerPins = []struct{ path, version, pkg string }{
	{"github.com/prometheus/client_golang", "v1.23.2", "github.com/prometheus/client_golang/prometheus"},
	{"github.com/redis/go-redis/v9", "v9.14.0", "github.com/redis/go-redis/v9"},
	{"go.opentelemetry.io/otel", "v1.45.0", "go.opentelemetry.io/otel"},
}

// goMod is the part of `go mod edit -json` the test reads.
type goMod struct {
	Go      string
	Require []struct {
		Path     string
		Version  string
		Indirect bool
	}
}

func readGoMod(t *testing.T, dir string) goMod {
	t.Helper()
	out, err := Go(dir, consumerEnv(), "mod", "edit", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var m goMod
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func consumerEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
}

func TestLibraryGoLine(t *testing.T) {
	line, err := GoLine(checkout(t))
	if err != nil {
		t.Fatal(err)
	}
	if line != LowestGo {
		t.Errorf("go.mod says go %s; want go %s, the lowest supported release, so that no user's go line is raised", line, LowestGo)
	}
}

// TestConsumer is the "done when": a user's module on the lowest
// supported Go with its own older client_golang, go-redis and otel adds one
// covet package and runs go mod tidy; its go line and requirements stay as
// they were, and it gains only the modules that package links.
func TestConsumer(t *testing.T) {
	needGo(t)
	if testing.Short() {
		t.Skip("depguard: the consumer test fetches modules; skipped with -short")
	}
	root := checkout(t)
	// What each package links, from the guard's tiny programs.
	m, err := NewModule(t.TempDir(), root, filepath.Join(root, "internal", "depguard", "testdata"), Cases)
	if err != nil {
		t.Fatal(err)
	}
	links, err := m.List(Env())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"health", "securehdr"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var src strings.Builder
			src.WriteString("package main\n\nimport (\n")
			var reqs strings.Builder
			for _, p := range consumerPins {
				src.WriteString("\t_ \"" + p.pkg + "\"\n")
				reqs.WriteString("\t" + p.path + " " + p.version + "\n")
			}
			src.WriteString(")\n\nfunc main() {}\n")
			write(t, filepath.Join(dir, "main.go"), src.String())
			write(t, filepath.Join(dir, "go.mod"), "module example.com/consumer\n\ngo "+LowestGo+"\n\nrequire (\n"+reqs.String()+")\n")
			if _, err := Go(dir, consumerEnv(), "mod", "tidy"); err != nil {
				if os.Getenv("COVET_REQUIRE_SERVICES") == "1" {
					t.Fatalf("tidying the consumer before it uses covet (is the module proxy reachable?): %v", err)
				}
				t.Skipf("depguard: the Go module proxy seems unreachable (set COVET_REQUIRE_SERVICES=1 to fail instead): %v", err)
			}
			before := readGoMod(t, dir)

			write(t, filepath.Join(dir, "covet.go"), "package main\n\nimport _ \"github.com/covetgo/covet/"+name+"\"\n")
			if _, err := Go(dir, consumerEnv(), "mod", "edit", "-require="+ModulePath+"@v0.0.0", "-replace="+ModulePath+"="+root); err != nil {
				t.Fatal(err)
			}
			if _, err := Go(dir, consumerEnv(), "mod", "tidy"); err != nil {
				t.Fatalf("go mod tidy after adding %s/%s: %v", ModulePath, name, err)
			}
			after := readGoMod(t, dir)

			if after.Go != before.Go {
				t.Errorf("adding %s raised the user's go line from %s to %s", name, before.Go, after.Go)
			}
			got := map[string]string{}
			for _, r := range after.Require {
				got[r.Path] = r.Version
			}
			had := map[string]bool{}
			for _, r := range before.Require {
				had[r.Path] = true
				switch v, ok := got[r.Path]; {
				case !ok:
					t.Errorf("adding %s removed the user's requirement %s %s", name, r.Path, r.Version)
				case v != r.Version:
					t.Errorf("adding %s changed the user's requirement %s %s to %s", name, r.Path, r.Version, v)
				}
			}
			linked := links[name].Modules
			for _, r := range after.Require {
				if had[r.Path] || r.Path == ModulePath {
					continue
				}
				if !slices.Contains(linked, r.Path) {
					t.Errorf("adding %s added a requirement on %s %s, a module %s does not link (it links: %s)",
						name, r.Path, r.Version, name, strings.Join(linked, " "))
				}
			}
		})
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
