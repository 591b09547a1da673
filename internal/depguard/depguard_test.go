package depguard

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needGo skips the test when the go command is not on PATH.
func needGo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("depguard: the go command is not on PATH; the dependency guard needs it to list what the tiny programs link")
	}
}

// checkout returns the root of this covet checkout.
func checkout(t *testing.T) string {
	t.Helper()
	// go test runs in the package's directory, even with -trimpath.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(filepath.Join(wd, "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestGuard fails when a tiny program links a module its row of Cases
// forbids. Rows marked Pending are reported and skipped while they still
// link what they must not, and fail once they are clean, until Pending is
// emptied.
func TestGuard(t *testing.T) {
	needGo(t)
	root := checkout(t)
	m, err := NewModule(t.TempDir(), root, filepath.Join(root, "internal", "depguard", "testdata"), Cases)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Missing {
		t.Errorf("%s: package %s is not in the checkout; update its row in cases.go and testdata/%s", c.Name, c.Package, c.Name)
	}
	env := Env()
	links, err := m.List(env)
	if err != nil {
		t.Fatalf("listing the tiny programs' dependencies (an import in testdata/*/main.go may be out of date): %v", err)
	}
	if !testing.Short() {
		// The programs must also compile, so that they keep following the API.
		if _, err := Go(m.Dir, env, "vet", "./..."); err != nil {
			t.Errorf("the tiny programs no longer compile; adjust testdata/*/main.go to the API: %v", err)
		}
	}
	for _, c := range m.Cases {
		t.Run(c.Name, func(t *testing.T) {
			l := links[c.Name]
			v := Violations(c, l)
			switch {
			case c.Pending != "" && len(v) > 0:
				t.Skipf("PENDING (%s): a program using %s (%s) still links %s; links %d modules: %s",
					c.Pending, c.Package, c.Use, strings.Join(v, ", "), len(l.Modules), strings.Join(l.Modules, " "))
			case c.Pending != "":
				t.Errorf("%s (%s) no longer links %s: the change is in (%s); empty Pending in its row of internal/depguard/cases.go",
					c.Package, c.Use, strings.Join(c.Forbidden, ", "), c.Pending)
			case len(v) > 0:
				t.Errorf("a program using %s (%s) links %s, which it must not; it links %d modules: %s",
					c.Package, c.Use, strings.Join(v, ", "), len(l.Modules), strings.Join(l.Modules, " "))
			}
		})
	}
}

// TestCasesHavePrograms keeps cases.go and testdata in step.
func TestCasesHavePrograms(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases {
		if seen[c.Name] {
			t.Errorf("case %s listed twice", c.Name)
		}
		seen[c.Name] = true
		if _, err := os.Stat(filepath.Join("testdata", c.Name, "main.go")); err != nil {
			t.Errorf("case %s has no program: %v", c.Name, err)
		}
		if len(c.Forbidden) == 0 {
			t.Errorf("case %s forbids nothing", c.Name)
		}
	}
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && !seen[d.Name()] && !strings.HasPrefix(d.Name(), "consumer") {
			t.Errorf("testdata/%s has no row in Cases", d.Name())
		}
	}
}
