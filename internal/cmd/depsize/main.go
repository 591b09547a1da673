// Command depsize prints, for each tiny program of package depguard (one
// covet package used the light way), the modules and packages it links and
// the size of its stripped binary, as the table in BENCHMARKS.md.
//
//	go run ./internal/cmd/depsize                 # this checkout
//	go run ./internal/cmd/depsize -checkout DIR   # another checkout of covet
//
// It builds every program (several minutes on a cold build cache on two
// cores). With -list it only counts modules and packages. Beside this
// checkout's figures it prints the ones measured before packages were split
// (commit 09efc67, Go 1.26.8); -checkout measures another checkout instead,
// as those were.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/covetgo/covet/internal/depguard"
)

func main() {
	checkout := flag.String("checkout", "", "covet checkout to measure (default: this one)")
	listOnly := flag.Bool("list", false, "count modules and packages only; build nothing")
	verbose := flag.Bool("v", false, "print each program's modules")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("depsize: ")

	src, err := depguard.SourceDir()
	if err != nil {
		log.Fatal(err)
	}
	if *checkout == "" {
		*checkout = filepath.Join(src, "..", "..")
	}
	root, err := filepath.Abs(*checkout)
	if err != nil {
		log.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "depsize")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	modDir := filepath.Join(tmp, "mod")
	binDir := filepath.Join(tmp, "bin")
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		log.Fatal(err)
	}
	m, err := depguard.NewModule(modDir, root, filepath.Join(src, "testdata"), depguard.Cases)
	if err != nil {
		log.Fatal(err)
	}
	env := depguard.Env()
	links, err := m.List(env)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("| package | light use | modules before → after | packages (non-std) before → after | stripped binary before → after |")
	fmt.Println("|---|---|--:|--:|--:|")
	for _, c := range depguard.Cases {
		b, ok := before[c.Name]
		bMods, bPkgs, bSize := "—", "—", "—"
		if ok {
			bMods = fmt.Sprint(b.modules)
			bPkgs = fmt.Sprintf("%d (%d)", b.packages, b.nonStd)
			bSize = fmt.Sprintf("%.1f MiB", b.mib)
		}
		aMods, aPkgs, aSize := "—", "—", "—"
		if has(m.Cases, c) {
			l := links[c.Name]
			aMods = fmt.Sprint(len(l.Modules))
			aPkgs = fmt.Sprintf("%d (%d)", l.Packages, l.NonStd)
			if !*listOnly {
				n, err := m.Build(env, c.Name, binDir)
				if err != nil {
					log.Fatal(err)
				}
				aSize = fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
			}
		}
		fmt.Printf("| %s | %s | %s → %s | %s → %s | %s → %s |\n", c.Package, c.Use, bMods, aMods, bPkgs, aPkgs, bSize, aSize)
	}
	if *verbose {
		fmt.Println()
		for _, c := range m.Cases {
			fmt.Printf("%s: %s\n", c.Package, strings.Join(links[c.Name].Modules, " "))
		}
	}
}

// figures are what one tiny program cost.
type figures struct {
	modules, packages, nonStd int
	mib                       float64
}

// before holds the figures of commit 09efc67 (one go.mod for the library
// and the example, every integration inside its package), measured with
// go run ./internal/cmd/depsize -checkout <worktree of 09efc67> on Go 1.26.8
// linux/amd64. clientip was internal then.
var before = map[string]figures{
	"health":    {0, 190, 3, 5.8},
	"metrics":   {11, 259, 53, 10.5},
	"securehdr": {3, 198, 11, 6.0},
	"ratelimit": {5, 229, 27, 6.5},
	"lockout":   {5, 230, 28, 5.2},
	"pool":      {7, 211, 35, 9.2},
	"cachex":    {16, 289, 89, 9.3},
	"jwtauth":   {5, 218, 24, 6.0},
	"password":  {2, 109, 7, 1.9},
	"stream":    {7, 236, 36, 10.2},
	"backupkit": {27, 312, 108, 5.3},
}

func has(cs []depguard.Case, c depguard.Case) bool {
	for _, x := range cs {
		if x.Name == c.Name {
			return true
		}
	}
	return false
}
