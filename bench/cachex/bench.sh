#!/usr/bin/env bash
# Runs the cachex benchmarks with cachex and go-redis/cache interleaved:
# each round measures both once, so the machine's load drifts over both
# alike, and every other round reverses which goes first. Prints every
# sample, then the medians (benchstat when available).
#
#   bench/cachex/bench.sh [rounds]   (default 10; needs Redis at REDIS_URL)
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-10}
bin=$(mktemp -d)/cachexbench.test
out=$(mktemp)
trap 'rm -rf "$(dirname "$bin")" "$out"' EXIT
go test -c -o "$bin" .
for i in $(seq "$rounds"); do
  reverse=""; [ $((i % 2)) -eq 0 ] && reverse=1
  CACHEX_BENCH_REVERSE=$reverse "$bin" -test.run '^$' -test.bench . -test.benchmem -test.count 1 -test.benchtime 1s | grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$out"
done
cat "$out"
go run golang.org/x/perf/cmd/benchstat@latest "$out" || true
