// Package bench holds side-by-side benchmarks of covet's packages against the
// libraries Go teams use today. It is a separate module so that covet's own
// go.mod never depends on those libraries.
//
// Each package has a folder here (bench/health, bench/metrics, …) whose
// benchmarks run both implementations in the same process, same harness:
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 6 ./health/
//
// Figures and the exact commands are recorded in BENCHMARKS.md at the root.
package bench
