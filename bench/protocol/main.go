// Command protocol is the measurement protocol every figure in BENCHMARKS.md
// follows. It runs a set of arms (a Go benchmark each, or a shell command
// each) in interleaved rounds, every arm in its own process, the order
// rotating from round to round, and reports:
//
//   - the load average before and after every round, and the CPU other
//     processes used during it (from /proc/stat; -mine names servers, such
//     as postgres, whose CPU belongs to the measurement);
//   - per arm, wall time and CPU time (user+system of the process and its
//     children) beside whatever the arm reports (ns/op, cpu-ns/op, B/op,
//     allocs/op, req/s, …), as medians over the kept rounds;
//   - per arm, the ratio to the base arm taken within each round, as a
//     median with its range; and for -overhead a/b the ratio of the two
//     arms' overheads over the base, also per round.
//
// A round starts only when the 1-minute load average is at most the number
// of cores (it waits up to -maxwait for that); a round during which other
// processes kept more than -foreign cores busy is refused and run again, up
// to -rerun extra rounds. The process's own load is not held against it:
// the arms are meant to use the cores.
//
// Go benchmarks: -test ./pkg builds the package's test binary once, and
// each -arm name=regexp runs it with -test.bench regexp (exactly one
// benchmark must match). Commands: each -cmd name='shell command' runs
// under sh -c; lines it prints as "metric <unit> <value>" and Go benchmark
// lines are parsed as the arm's figures.
//
//	go run ./protocol -title 'metrics, middleware alone' -test ./metrics -benchtime 300ms \
//	    -arm bare='^BenchmarkOverhead$/^bare$' -arm covet='^BenchmarkOverhead$/^covet$' \
//	    -arm slok='^BenchmarkOverhead$/^slok$' -metric cpu-ns/op -overhead covet/slok
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/covetgo/covet/bench/internal/quiet"
)

type arm struct {
	name  string
	bench string // -test.bench regexp, or
	shell string // a shell command
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type round struct {
	n       int
	win     quiet.Window
	results map[string]map[string]float64 // arm -> unit -> value
	kept    bool
	why     string
}

func main() {
	var (
		title     = flag.String("title", "", "suite title for the report")
		rounds    = flag.Int("rounds", 5, "rounds to keep (at least 5 for a figure in BENCHMARKS.md)")
		testPkg   = flag.String("test", "", "package whose test binary runs the -arm benchmarks")
		benchtime = flag.String("benchtime", "300ms", "-test.benchtime for -arm benchmarks")
		base      = flag.String("base", "", "arm the ratios are taken against (default: the first)")
		metric    = flag.String("metric", "", "figure the ratios use (default: cpu-ns/op, else ns/op, else wall-s)")
		maxWait   = flag.Duration("maxwait", 3*time.Minute, "longest wait for the load average to fall to the number of cores")
		foreign   = flag.Float64("foreign", 0.5, "refuse a round when other processes kept more than this many cores busy")
		rerun     = flag.Int("rerun", 5, "extra rounds allowed to replace refused ones")
		timeout   = flag.Duration("timeout", 10*time.Minute, "limit for one arm")
		mine      = flag.String("mine", "", "comma-separated process names whose CPU counts as the arms' own (e.g. postgres,redis-server)")
		smoke     = flag.Bool("smoke", false, "keep every round whatever the load (to try a suite out; not for figures)")
		arms      []arm
		overheads listFlag
		ratios    listFlag
		armFlags  listFlag
		cmdFlags  listFlag
	)
	flag.Var(&armFlags, "arm", "name=benchmark regexp (repeatable)")
	flag.Var(&cmdFlags, "cmd", "name=shell command (repeatable)")
	flag.Var(&overheads, "overhead", "a/b: ratio of arm a's overhead over the base to arm b's, per round (repeatable)")
	flag.Var(&ratios, "ratio", "a/b: ratio of arm a's figure to arm b's, per round, besides the base (repeatable)")
	flag.Parse()

	for _, a := range armFlags {
		name, re, ok := strings.Cut(a, "=")
		if !ok || *testPkg == "" {
			fatalf("-arm %q: want name=regexp, with -test", a)
		}
		arms = append(arms, arm{name: name, bench: re})
	}
	for _, c := range cmdFlags {
		name, sh, ok := strings.Cut(c, "=")
		if !ok {
			fatalf("-cmd %q: want name=command", c)
		}
		arms = append(arms, arm{name: name, shell: sh})
	}
	if len(arms) == 0 {
		fatalf("no arms: give -arm or -cmd")
	}
	if *base == "" {
		*base = arms[0].name
	}
	if !slices.ContainsFunc(arms, func(a arm) bool { return a.name == *base }) {
		fatalf("-base %q is not an arm", *base)
	}

	var bin, pkgDir string
	if *testPkg != "" {
		tmp, err := os.MkdirTemp("", "protocol")
		if err != nil {
			fatalf("%v", err)
		}
		defer os.RemoveAll(tmp)
		bin = filepath.Join(tmp, "bench.test")
		build := exec.Command("go", "test", "-c", "-o", bin, *testPkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fatalf("building %s: %v", *testPkg, err)
		}
		pkgDir = *testPkg
	}

	cores := quiet.Cores()
	logf := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	logf("# %s", *title)
	logf("protocol: %d rounds, %d arms in rotating order, base %s, %d cores, go test -benchtime %s", *rounds, len(arms), *base, cores, *benchtime)
	var all []*round
	kept := 0
	for n := 1; kept < *rounds && n <= *rounds+*rerun; n++ {
		l, ok := quiet.LoadAvg(), true
		if !*smoke {
			l, ok = quiet.WaitQuiet(float64(cores), *maxWait, func(s string) { logf("round %d: %s", n, s) })
		}
		r := &round{n: n, results: map[string]map[string]float64{}, kept: true}
		if *mine != "" {
			r.win.Mine = strings.Split(*mine, ",")
		}
		if !ok {
			r.kept, r.why = false, fmt.Sprintf("load average %s stayed above %d", quiet.FormatLoad(l), cores)
		}
		r.win.Start()
		for i := range arms {
			a := arms[(i+n-1)%len(arms)]
			res, err := runArm(a, bin, pkgDir, *benchtime, *timeout)
			if err != nil {
				fatalf("round %d, arm %s: %v", n, a.name, err)
			}
			r.results[a.name] = res
		}
		r.win.Stop()
		if r.kept && r.win.Foreign > *foreign && !*smoke {
			r.kept, r.why = false, fmt.Sprintf("other processes used %.2f cores", r.win.Foreign)
		}
		if r.kept {
			kept++
		}
		all = append(all, r)
		printRound(r, arms, *base, pickMetric(*metric, r.results[*base]))
	}
	if *smoke {
		logf("SMOKE RUN: rounds kept whatever the load; not fit for BENCHMARKS.md")
	}
	if kept < *rounds {
		logf("WARNING: only %d of %d rounds kept; the figures below are not fit for BENCHMARKS.md", kept, *rounds)
	}
	report(all, arms, *base, *metric, overheads, ratios, cores)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "protocol: "+format+"\n", args...)
	os.Exit(2)
}

func runArm(a arm, bin, dir, benchtime string, timeout time.Duration) (map[string]float64, error) {
	var cmd *exec.Cmd
	if a.bench != "" {
		cmd = exec.Command(bin, "-test.run", "^$", "-test.bench", a.bench, "-test.benchmem",
			"-test.count", "1", "-test.benchtime", benchtime)
		cmd.Dir = dir
	} else {
		cmd = exec.Command("sh", "-c", a.shell)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	timer := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	wall := time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("%v\n%s", err, out.String())
	}
	res := map[string]float64{
		"wall-s": wall.Seconds(),
		"cpu-s":  (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(),
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res["maxrss-MiB"] = float64(ru.Maxrss) / 1024
	}
	benches := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 4 && strings.HasPrefix(f[0], "Benchmark"):
			benches++
			for i := 2; i+1 < len(f); i += 2 {
				if v, err := strconv.ParseFloat(f[i], 64); err == nil {
					res[f[i+1]] = v
				}
			}
		case len(f) == 3 && f[0] == "metric":
			if v, err := strconv.ParseFloat(f[2], 64); err == nil {
				res[f[1]] = v
			}
		}
	}
	if a.bench != "" && benches != 1 {
		return nil, fmt.Errorf("-test.bench %q matched %d benchmarks, want 1:\n%s", a.bench, benches, out.String())
	}
	return res, nil
}

// pickMetric chooses the figure ratios are taken on.
func pickMetric(want string, sample map[string]float64) string {
	if want != "" {
		return want
	}
	for _, m := range []string{"cpu-ns/op", "ns/op"} {
		if _, ok := sample[m]; ok {
			return m
		}
	}
	return "wall-s"
}

func printRound(r *round, arms []arm, base, metric string) {
	state := "kept"
	if !r.kept {
		state = "REFUSED (" + r.why + "), run again"
	}
	fmt.Printf("round %d: load %s -> %s, other processes %.2f cores, %.1fs: %s\n",
		r.n, quiet.FormatLoad(r.win.LoadBefore), quiet.FormatLoad(r.win.LoadAfter), r.win.Foreign, r.win.Wall.Seconds(), state)
	b := r.results[base][metric]
	for _, a := range arms {
		res := r.results[a.name]
		fmt.Printf("  %-28s wall %7.3fs cpu %7.3fs  %s %s", a.name, res["wall-s"], res["cpu-s"], metric, num(res[metric]))
		if a.name != base && b != 0 {
			fmt.Printf("  %.3fx %s", res[metric]/b, base)
		}
		fmt.Println()
	}
}

func report(all []*round, arms []arm, base, metric string, overheads, ratios []string, cores int) {
	var kept []*round
	var lb, la, fo []float64
	for _, r := range all {
		if r.kept {
			kept = append(kept, r)
			lb = append(lb, r.win.LoadBefore[0])
			la = append(la, r.win.LoadAfter[0])
			fo = append(fo, r.win.Foreign)
		}
	}
	if len(kept) == 0 {
		fmt.Println("no round kept")
		return
	}
	metric = pickMetric(metric, kept[0].results[base])
	// Columns: wall and CPU first, then what the arms report, in order seen.
	units := []string{"wall-s", "cpu-s"}
	for _, a := range arms {
		var seen []string
		for u := range kept[0].results[a.name] {
			if !slices.Contains(units, u) && u != "maxrss-MiB" {
				seen = append(seen, u)
			}
		}
		slices.SortFunc(seen, func(x, y string) int {
			if d := unitRank(x) - unitRank(y); d != 0 {
				return d
			}
			return strings.Compare(x, y) // a stable order for units ranked alike
		})
		for _, u := range seen {
			if !slices.Contains(units, u) {
				units = append(units, u)
			}
		}
	}
	units = append(units, "maxrss-MiB")

	fmt.Printf("\n%d rounds kept of %d; load average (1 min) before rounds %.2f–%.2f, after %.2f–%.2f; other processes %.2f–%.2f cores; %d cores\n\n",
		len(kept), len(all), slices.Min(lb), slices.Max(lb), slices.Min(la), slices.Max(la), slices.Min(fo), slices.Max(fo), cores)
	fmt.Printf("| arm | %s | per-round ratio to %s (%s): median [range] |\n", strings.Join(units, " | "), base, metric)
	fmt.Printf("|---|%s---|\n", strings.Repeat("---:|", len(units)))
	for _, a := range arms {
		row := []string{a.name}
		for _, u := range units {
			if _, ok := kept[0].results[a.name][u]; !ok {
				row = append(row, "—")
				continue
			}
			row = append(row, num(median(collect(kept, func(r *round) float64 { return r.results[a.name][u] }))))
		}
		ratio := "—"
		if a.name != base {
			rs := collect(kept, func(r *round) float64 { return r.results[a.name][metric] / r.results[base][metric] })
			ratio = fmt.Sprintf("%.3f× [%.3f–%.3f]", median(rs), slices.Min(rs), slices.Max(rs))
		}
		fmt.Printf("| %s | %s |\n", strings.Join(row, " | "), ratio)
	}
	for _, o := range ratios {
		x, y, ok := strings.Cut(o, "/")
		if !ok {
			continue
		}
		for _, u := range units {
			if _, ok := kept[0].results[x][u]; !ok || u == "maxrss-MiB" {
				continue
			}
			rs := collect(kept, func(r *round) float64 { return r.results[x][u] / r.results[y][u] })
			fmt.Printf("\nper-round ratio %s/%s (%s): median %.3f× [%.3f–%.3f]", x, y, u, median(rs), slices.Min(rs), slices.Max(rs))
		}
		fmt.Println()
	}
	for _, o := range overheads {
		x, y, ok := strings.Cut(o, "/")
		if !ok {
			continue
		}
		ov := func(r *round, n string) float64 { return r.results[n][metric] - r.results[base][metric] }
		rs := collect(kept, func(r *round) float64 { return ov(r, x) / ov(r, y) })
		ox := median(collect(kept, func(r *round) float64 { return ov(r, x) }))
		oy := median(collect(kept, func(r *round) float64 { return ov(r, y) }))
		fmt.Printf("\noverhead over %s (%s): %s %s, %s %s; per-round ratio %s/%s median %.3f× [%.3f–%.3f], ratio of medians %.3f×\n",
			base, metric, x, num(ox), y, num(oy), x, y, median(rs), slices.Min(rs), slices.Max(rs), ox/oy)
		for _, u := range []string{"B/op", "allocs/op"} {
			if _, ok := kept[0].results[x][u]; ok {
				dx := median(collect(kept, func(r *round) float64 { return r.results[x][u] - r.results[base][u] }))
				dy := median(collect(kept, func(r *round) float64 { return r.results[y][u] - r.results[base][u] }))
				fmt.Printf("- %s over %s: %s %+g, %s %+g\n", u, base, x, dx, y, dy)
			}
		}
	}
	fmt.Println()
}

func unitRank(u string) int {
	order := []string{"ns/op", "cpu-ns/op", "B/op", "allocs/op"}
	if i := slices.Index(order, u); i >= 0 {
		return i
	}
	return len(order)
}

func collect(rs []*round, f func(*round) float64) []float64 {
	out := make([]float64, 0, len(rs))
	for _, r := range rs {
		if v := f(r); !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		out = append(out, math.NaN())
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

var digits = regexp.MustCompile(`(\d)(\d{3})\b`)

// num prints a figure with three significant digits or thousands separators.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "—"
	case a >= 1000:
		s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
		for digits.MatchString(s) {
			s = digits.ReplaceAllString(s, "$1,$2")
		}
		return s
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}
