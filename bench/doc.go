// Package bench holds side-by-side benchmarks of covet's packages against the
// libraries Go teams use today, and a load test of the example service. It is
// a separate module so that covet's own go.mod never depends on those
// libraries.
//
// Each package has a folder here (bench/health, bench/metrics, …) whose
// benchmarks run covet and its anchors in the same harness. Figures are taken
// only through the measurement protocol (bench/protocol): every arm in its
// own process, interleaved rounds in rotating order, the load average
// printed before and after each round and rounds refused on a busy machine,
// CPU time beside wall time, medians and per-round ratios:
//
//	cd bench && ./protocol.sh            # every suite
//	cd bench && ./protocol.sh metrics    # one suite
//
// bench/load drives the running example with a realistic request mix at
// fixed rates (vegeta) beside a minimal chi + sqlx ceiling. Figures and the
// exact commands are recorded in BENCHMARKS.md at the root.
package bench
