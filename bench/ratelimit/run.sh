#!/usr/bin/env bash
# Runs the ratelimit comparison fairly on a shared, noisy machine: every
# benchmark runs in its own process (no heap or background goroutines left
# over from another library), in interleaved rounds whose order rotates, so
# that load changes hit all contenders alike. benchstat then gives medians.
#
#   ./run.sh [rounds]                      default: 8
#
# BENCHTIME (default 200000x) applies to the HTTP benchmarks, REDIS_BENCHTIME
# (default 30000x) to the Redis ones; fixed counts avoid re-running the
# 100,000-key warm-up for every calibration step. REDIS_URL selects the Redis
# server (default redis://127.0.0.1:6379/0); OUT names the raw output file
# (default: a temporary file); FILTER, a regular expression, keeps only the
# benchmarks it matches.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-8}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bin=$dir/ratelimitbench.test
go test -c -o "$bin" .
out=${OUT:-$dir/out.txt}
: >"$out"
benches=()
for group in Memory Overhead; do
  for keys in one-key 100k-keys; do
    for lib in bare covet httprate ulule; do benches+=("Benchmark$group/^$keys\$/^$lib\$"); done
  done
done
for lib in covet covet-fixed redis_rate ulule; do benches+=("BenchmarkRedis/^$lib\$"); done
if [[ -n ${FILTER:-} ]]; then
  kept=()
  for b in "${benches[@]}"; do [[ $b =~ $FILTER ]] && kept+=("$b"); done
  benches=("${kept[@]}")
fi
n=${#benches[@]}
for round in $(seq 1 "$rounds"); do
  for i in $(seq 0 $((n - 1))); do
    b=${benches[$(((i + round) % n))]}
    bt=${BENCHTIME:-200000x}
    [[ $b == BenchmarkRedis* ]] && bt=${REDIS_BENCHTIME:-30000x}
    "$bin" -test.run '^$' -test.bench "$b" -test.benchmem -test.benchtime "$bt" -test.count 1 |
      grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$out"
  done
done
go run golang.org/x/perf/cmd/benchstat@latest "$out"
