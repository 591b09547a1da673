// Command depsize prints, for each tiny program of package depguard (one
// covet package used the light way), the modules and packages it links and
// the size of its stripped binary, as the table in BENCHMARKS.md.
//
//	go run ./internal/cmd/depsize                 # this checkout
//	go run ./internal/cmd/depsize -checkout DIR   # another checkout of covet
//
// It builds every program (a minute or two on a cold build cache). With
// -list it only counts modules and packages.
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
	fmt.Println("| package | light use | modules | packages (non-std) | stripped binary |")
	fmt.Println("|---|---|--:|--:|--:|")
	for _, c := range depguard.Cases {
		if !has(m.Cases, c) {
			fmt.Printf("| %s | %s | — | — | — |\n", c.Package, c.Use)
			continue
		}
		l := links[c.Name]
		size := "—"
		if !*listOnly {
			n, err := m.Build(env, c.Name, binDir)
			if err != nil {
				log.Fatal(err)
			}
			size = fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		}
		fmt.Printf("| %s | %s | %d | %d (%d) | %s |\n", c.Package, c.Use, len(l.Modules), l.Packages, l.NonStd, size)
	}
	if *verbose {
		fmt.Println()
		for _, c := range m.Cases {
			fmt.Printf("%s: %s\n", c.Package, strings.Join(links[c.Name].Modules, " "))
		}
	}
}

func has(cs []depguard.Case, c depguard.Case) bool {
	for _, x := range cs {
		if x.Name == c.Name {
			return true
		}
	}
	return false
}
