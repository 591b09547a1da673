package conventions

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sentinelAllowlist lists sentinels named ErrInvalid… or ErrInsecure… that
// report a caller's or a client's mistake at run time, not a configuration
// mistake, so they do not wrap ErrInvalidConfig. Key: "<package dir>.<name>".
var sentinelAllowlist = map[string]string{
	"cachex.ErrInvalid":                      "a bad argument to a call (empty key, TTL not positive), not configuration",
	"ratelimit.ErrInvalidCost":               "a negative cost returned for one request at run time",
	"jwtauth/password.ErrInvalidCredentials": "a failed login",
	"jwtauth.ErrInvalidCredentials":          "a failed login, answered 401 by the login handler",
}

// exampleAllowlist lists Example functions that have no // Output: comment,
// with the reason they cannot have one. Key: "<package dir>.<Example name>".
var exampleAllowlist = map[string]string{}

// pkg is one library package read from source.
type pkg struct {
	dir   string // slash-separated, relative to the module root
	name  string
	fset  *token.FileSet
	files map[string]*ast.File // non-test files by base name
	tests []*ast.File          // _test.go files, both package names
}

func (p *pkg) internal() bool {
	return p.dir == "internal" || strings.HasPrefix(p.dir, "internal/") || strings.Contains(p.dir, "/internal/")
}

// root returns the library module's root.
func root(t *testing.T) string {
	t.Helper()
	// go test runs in the package's directory, even with -trimpath.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// packages reads every package of the module rooted at dir, skipping
// testdata, hidden directories and nested modules (example, bench).
func packages(t *testing.T, dir string) []*pkg {
	t.Helper()
	var pkgs []*pkg
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		base := d.Name()
		if path != dir {
			if base == "testdata" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		p, err := readPackage(path, filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if p != nil {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func readPackage(path, rel string) (*pkg, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	p := &pkg{dir: rel, fset: token.NewFileSet(), files: map[string]*ast.File{}}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") {
			continue
		}
		f, err := parser.ParseFile(p.fset, filepath.Join(path, n), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(n, "_test.go") {
			p.tests = append(p.tests, f)
			continue
		}
		p.files[n] = f
		p.name = f.Name.Name
	}
	if len(p.files) == 0 {
		return nil, nil
	}
	return p, nil
}

func (p *pkg) pos(n ast.Node) string {
	pos := p.fset.Position(n.Pos())
	return p.dir + "/" + filepath.Base(pos.Filename) + ":" + strconv.Itoa(pos.Line)
}

// sortedFiles returns p's non-test files in name order.
func (p *pkg) sortedFiles() []*ast.File {
	names := make([]string, 0, len(p.files))
	for n := range p.files {
		names = append(names, n)
	}
	sort.Strings(names)
	files := make([]*ast.File, len(names))
	for i, n := range names {
		files[i] = p.files[n]
	}
	return files
}

// sentinels returns p's exported package-level Err… variables with the
// expression each is declared with (nil when it has none).
func (p *pkg) sentinels() map[string]*ast.ValueSpec {
	out := map[string]*ast.ValueSpec{}
	for _, f := range p.sortedFiles() {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for _, id := range vs.Names {
					if strings.HasPrefix(id.Name, "Err") && id.IsExported() {
						out[id.Name] = vs
					}
				}
			}
		}
	}
	return out
}

// value returns the expression name is declared with in vs.
func value(vs *ast.ValueSpec, name string) ast.Expr {
	for i, id := range vs.Names {
		if id.Name == name && i < len(vs.Values) {
			return vs.Values[i]
		}
	}
	return nil
}

// sharesParent reports whether e is <parent>.ErrInvalidConfig, parent being
// the package of p's parent directory.
func sharesParent(p *pkg, e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "ErrInvalidConfig" {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	parent := path.Dir(p.dir)
	return ok && parent != "." && x.Name == path.Base(parent)
}

// call reports whether e is a call of pkgName.funcName and returns its
// arguments.
func call(e ast.Expr, pkgName, funcName string) ([]ast.Expr, bool) {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return nil, false
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != funcName {
		return nil, false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok || x.Name != pkgName {
		return nil, false
	}
	return c.Args, true
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

// fallibleConstructors returns p's exported top-level New… and Open…
// functions whose last result is an error.
func (p *pkg) fallibleConstructors() []string {
	var names []string
	for _, f := range p.sortedFiles() {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !fd.Name.IsExported() {
				continue
			}
			n := fd.Name.Name
			if !strings.HasPrefix(n, "New") && !strings.HasPrefix(n, "Open") {
				continue
			}
			res := fd.Type.Results
			if res == nil || len(res.List) == 0 {
				continue
			}
			if id, ok := res.List[len(res.List)-1].Type.(*ast.Ident); ok && id.Name == "error" {
				names = append(names, n)
			}
		}
	}
	return names
}

// unwrapsToInvalidConfig returns p's types with an Unwrap() error method
// whose body is return ErrInvalidConfig.
func (p *pkg) unwrapsToInvalidConfig() map[string]bool {
	types := map[string]bool{}
	for _, f := range p.sortedFiles() {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 || fd.Name.Name != "Unwrap" || fd.Body == nil || len(fd.Body.List) != 1 {
				continue
			}
			ret, ok := fd.Body.List[0].(*ast.ReturnStmt)
			if !ok || len(ret.Results) != 1 {
				continue
			}
			if id, ok := ret.Results[0].(*ast.Ident); !ok || id.Name != "ErrInvalidConfig" {
				continue
			}
			recv := fd.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); ok {
				types[id.Name] = true
			}
		}
	}
	return types
}

func TestDocGo(t *testing.T) {
	for _, p := range packages(t, root(t)) {
		if p.internal() || p.name == "main" {
			continue
		}
		if _, ok := p.files["doc.go"]; !ok {
			t.Errorf("%s: package %s has no doc.go; move its package comment (the overview, with # headings) into %s/doc.go", p.dir, p.name, p.dir)
		}
	}
}

func TestErrInvalidConfig(t *testing.T) {
	pkgs := packages(t, root(t))
	for _, p := range pkgs {
		if p.name == "main" {
			continue
		}
		errs := p.sentinels()
		ctors := p.fallibleConstructors()
		vs, has := errs["ErrInvalidConfig"]
		switch {
		case !has && len(ctors) > 0 && !p.internal():
			t.Errorf("%s: package %s has constructors that can fail (%s) but exports no ErrInvalidConfig; declare ErrInvalidConfig = errors.New(%q) and wrap it in their configuration errors",
				p.dir, p.name, strings.Join(ctors, ", "), p.name+": invalid configuration")
		case has && sharesParent(p, value(vs, "ErrInvalidConfig")):
			// A subpackage that extends its parent (backupkit/s3store,
			// stream/pgcopy) may share the parent's sentinel, so that
			// errors.Is(err, parent.ErrInvalidConfig) holds for both.
		case has:
			args, ok := call(value(vs, "ErrInvalidConfig"), "errors", "New")
			msg := ""
			if ok && len(args) == 1 {
				msg, ok = stringLit(args[0])
			}
			// The prefix is the package's name, or a longer tail of its
			// path ("lockout/redisstore") where the name alone is ambiguous.
			prefix, found := strings.CutSuffix(msg, ": invalid configuration")
			if !ok || !found || !(p.dir == prefix || strings.HasSuffix(p.dir, "/"+prefix)) || !strings.HasSuffix("/"+prefix, "/"+p.name) {
				t.Errorf("%s: ErrInvalidConfig must be declared as errors.New(%q) (or with a longer tail of %q before the colon)", p.pos(vs), p.name+": invalid configuration", p.dir)
			}
		}
		for name, vs := range errs {
			if name == "ErrInvalidConfig" || !(strings.HasPrefix(name, "ErrInvalid") || strings.HasPrefix(name, "ErrInsecure")) {
				continue
			}
			key := p.dir + "." + name
			if _, ok := sentinelAllowlist[key]; ok {
				continue
			}
			if !wrapsInvalidConfig(value(vs, name), p.unwrapsToInvalidConfig()) {
				t.Errorf("%s: %s.%s names a configuration mistake but does not wrap ErrInvalidConfig; declare it as fmt.Errorf(\"%%w: …\", ErrInvalidConfig), or, if it is not a configuration mistake, add %q to sentinelAllowlist in internal/conventions with the reason",
					p.pos(vs), p.name, name, key)
			}
		}
	}
	for key := range sentinelAllowlist {
		dir, name, _ := strings.Cut(key, ".")
		found := false
		for _, p := range pkgs {
			if p.dir == dir {
				_, found = p.sentinels()[name]
			}
		}
		if !found {
			t.Errorf("sentinelAllowlist: %s no longer exists; remove its entry", key)
		}
	}
}

// wrapsInvalidConfig reports whether e is fmt.Errorf("%w…", ErrInvalidConfig, …),
// or a T{} or &T{} of a type in unwraps.
func wrapsInvalidConfig(e ast.Expr, unwraps map[string]bool) bool {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	if cl, ok := e.(*ast.CompositeLit); ok {
		id, ok := cl.Type.(*ast.Ident)
		return ok && unwraps[id.Name]
	}
	args, ok := call(e, "fmt", "Errorf")
	if !ok || len(args) < 2 {
		return false
	}
	format, ok := stringLit(args[0])
	if !ok || !strings.HasPrefix(format, "%w") {
		return false
	}
	id, ok := args[1].(*ast.Ident)
	return ok && id.Name == "ErrInvalidConfig"
}

func TestExamplesHaveOutput(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range packages(t, root(t)) {
		for _, ex := range doc.Examples(p.tests...) {
			key := p.dir + "." + "Example" + ex.Name
			seen[key] = true
			if ex.Output != "" || ex.EmptyOutput {
				if _, ok := exampleAllowlist[key]; ok {
					t.Errorf("exampleAllowlist: %s has an // Output: comment now; remove its entry", key)
				}
				continue
			}
			if _, ok := exampleAllowlist[key]; ok {
				continue
			}
			t.Errorf("%s: %s has no // Output: comment, so go test only compiles it; end it with // Output: and what it prints, or add %q to exampleAllowlist in internal/conventions with the reason it cannot run",
				p.pos(ex.Code), "Example"+ex.Name, key)
		}
	}
	for key := range exampleAllowlist {
		if !seen[key] {
			t.Errorf("exampleAllowlist: %s no longer exists; remove its entry", key)
		}
	}
}
