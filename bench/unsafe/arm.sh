#!/usr/bin/env bash
# One arm of the unsafe comparison, for the protocol driver: runs the bench
# test binary $1 (built with or without -tags covet_purego) on the bare and covet
# sub-benchmarks of the middleware-alone benchmark $2 (a -test.bench prefix
# such as '^BenchmarkOverhead$/^one-key$'), in one process, with
# -test.benchtime $3, and prints covet's figures and its overhead over bare
# (covet minus bare, same process) as "metric <unit> <value>" lines. The
# benchmark lines themselves are not passed on: the driver would read both
# sub-benchmarks' figures as one arm's.
set -euo pipefail
bin=$1 bench=$2 benchtime=$3
out=$("$bin" -test.run '^$' -test.bench "$bench/^(bare|covet)\$" -test.benchmem \
  -test.count 1 -test.benchtime "$benchtime")
awk '
  $1 ~ /^Benchmark/ {
    arm = $1; sub(/-[0-9]+$/, "", arm); sub(/.*\//, "", arm)
    for (i = 3; i < NF; i += 2) v[arm, $(i+1)] = $i
    seen[arm] = 1
  }
  END {
    if (!seen["bare"] || !seen["covet"]) { print "unsafe/arm.sh: want one bare and one covet benchmark" > "/dev/stderr"; exit 1 }
    n = split("cpu-ns/op ns/op B/op allocs/op", u, " ")
    for (i = 1; i <= n; i++) {
      printf "metric covet-%s %s\n", u[i], v["covet", u[i]]
      printf "metric overhead-%s %s\n", u[i], v["covet", u[i]] - v["bare", u[i]]
    }
  }' <<<"$out" || { echo "$out" >&2; exit 1; }
