package depguard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
)

// ModulePath is covet's module path.
const ModulePath = "github.com/covetgo/covet"

// tempModulePath is the module path of the throwaway module.
const tempModulePath = "depguard.test"

// Module is a throwaway module holding the tiny programs of some cases,
// requiring the covet checkout at Checkout through a replace directive.
type Module struct {
	Dir      string
	Checkout string
	// Cases are the cases whose package exists in the checkout.
	Cases []Case
	// Missing are the cases whose package the checkout lacks.
	Missing []Case
}

// Env returns the environment for go commands run in a throwaway module:
// no workspace, go.mod updated as needed, the local toolchain.
func Env() []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
}

// Go runs the go command in dir with env and returns its standard output,
// or an error carrying its standard error.
func Go(dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// SourceDir returns the directory of this package's source, from which the
// checkout and the programs are found.
func SourceDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("depguard: cannot locate source")
	}
	return filepath.Dir(file), nil
}

// GoLine returns the go directive of the go.mod in dir.
func GoLine(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("depguard: no go directive in " + filepath.Join(dir, "go.mod"))
}

// NewModule writes a throwaway module in dir with the programs of cases
// (from progs, a directory holding one directory per case) that build
// against the checkout. A case whose package the checkout lacks is put in
// Missing.
func NewModule(dir, checkout, progs string, cases []Case) (*Module, error) {
	goLine, err := GoLine(checkout)
	if err != nil {
		return nil, err
	}
	m := &Module{Dir: dir, Checkout: checkout}
	for _, c := range cases {
		if _, err := os.Stat(filepath.Join(checkout, filepath.FromSlash(c.Package))); err != nil {
			m.Missing = append(m.Missing, c)
			continue
		}
		src, err := os.ReadFile(filepath.Join(progs, c.Name, "main.go"))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(dir, c.Name), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, c.Name, "main.go"), src, 0o644); err != nil {
			return nil, err
		}
		m.Cases = append(m.Cases, c)
	}
	gomod := fmt.Sprintf("module %s\n\ngo %s\n\nrequire %s v0.0.0\n\nreplace %s => %s\n",
		tempModulePath, goLine, ModulePath, ModulePath, checkout)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return nil, err
	}
	// The checkout's go.sum holds every hash the programs need.
	sum, err := os.ReadFile(filepath.Join(checkout, "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

// Links is what one program links.
type Links struct {
	// Modules are the modules other than covet that provide linked
	// packages, sorted.
	Modules []string
	// Packages counts every linked package, the standard library's and the
	// program's own included.
	Packages int
	// NonStd counts the linked packages outside the standard library,
	// covet's included.
	NonStd int
}

// Has reports whether the program links module mod.
func (l Links) Has(mod string) bool { return slices.Contains(l.Modules, mod) }

// List returns what each program of m links, by case name, from two go list
// runs (no compilation).
func (m *Module) List(env []string) (map[string]Links, error) {
	// First, which module provides every package in the programs' graph.
	out, err := Go(m.Dir, env, "list", "-e", "-deps",
		"-f", "{{.ImportPath}}\t{{.Standard}}\t{{with .Module}}{{.Path}}{{end}}\t{{with .Error}}{{.Err}}{{end}}", "./...")
	if err != nil {
		return nil, err
	}
	type pkg struct {
		std bool
		mod string
	}
	pkgs := map[string]pkg{}
	var errs []string
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) != 4 {
			continue
		}
		pkgs[f[0]] = pkg{std: f[1] == "true", mod: f[2]}
		if f[3] != "" {
			errs = append(errs, f[0]+": "+f[3])
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("depguard: go list: %s", strings.Join(errs, "; "))
	}
	// Then each program's own dependencies.
	out, err = Go(m.Dir, env, "list", "-e", "-f", "{{.Name}}\t{{.ImportPath}}\t{{join .Deps \" \"}}", "./...")
	if err != nil {
		return nil, err
	}
	res := map[string]Links{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) != 3 || f[0] != "main" {
			continue
		}
		name := strings.TrimPrefix(f[1], tempModulePath+"/")
		mods := map[string]bool{}
		l := Links{Packages: 1, NonStd: 1}
		for _, d := range strings.Fields(f[2]) {
			p := pkgs[d]
			l.Packages++
			if p.std {
				continue
			}
			l.NonStd++
			if p.mod != "" && p.mod != ModulePath && p.mod != tempModulePath {
				mods[p.mod] = true
			}
		}
		for mod := range mods {
			l.Modules = append(l.Modules, mod)
		}
		sort.Strings(l.Modules)
		res[name] = l
	}
	for _, c := range m.Cases {
		if _, ok := res[c.Name]; !ok {
			return nil, fmt.Errorf("depguard: go list did not report program %s", c.Name)
		}
	}
	return res, nil
}

// Build builds case name's program stripped (-ldflags=-s -w, -trimpath)
// into dir and returns the binary's size in bytes.
func (m *Module) Build(env []string, name, dir string) (int64, error) {
	bin := filepath.Join(dir, name)
	if _, err := Go(m.Dir, env, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./"+name); err != nil {
		return 0, err
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Violations returns the forbidden modules l links for c.
func Violations(c Case, l Links) []string {
	var v []string
	for _, mod := range c.Forbidden {
		if l.Has(mod) {
			v = append(v, mod)
		}
	}
	return v
}
