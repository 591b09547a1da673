#!/usr/bin/env bash
# Runs the ratelimit comparison fairly on a shared, noisy machine: every
# benchmark runs in its own process (no heap or background goroutines left
# over from another library), in interleaved rounds whose order rotates, so
# that load changes hit all contenders alike. benchstat then gives medians.
#
#   ./run.sh [rounds] [benchtime]          defaults: 10 1s
#
# REDIS_URL selects the Redis server (default redis://127.0.0.1:6379/0);
# OUT names the raw output file (default: a temporary file).
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-10}
benchtime=${2:-1s}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bin=$dir/ratelimitbench.test
go test -c -o "$bin" .
out=${OUT:-$dir/out.txt}
: >"$out"
benches=()
for keys in one-key 100k-keys; do
  for lib in bare covet httprate ulule; do benches+=("BenchmarkMemory/^$keys\$/^$lib\$"); done
done
for lib in covet redis_rate ulule; do benches+=("BenchmarkRedis/^$lib\$"); done
n=${#benches[@]}
for round in $(seq 1 "$rounds"); do
  for i in $(seq 0 $((n - 1))); do
    b=${benches[$(((i + round) % n))]}
    "$bin" -test.run '^$' -test.bench "$b" -test.benchmem -test.benchtime "$benchtime" -test.count 1 |
      grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$out"
  done
done
go run golang.org/x/perf/cmd/benchstat@latest "$out"
