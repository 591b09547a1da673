#!/usr/bin/env bash
# Runs the ratelimit comparison in interleaved rounds (one -count per round,
# every benchmark in each round) so that load changes on a shared machine hit
# all contenders alike, then summarises medians with benchstat.
#
#   ./run.sh [rounds] [benchtime] [pattern]    defaults: 8 1s .
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-8}
benchtime=${2:-1s}
pattern=${3:-.}
bin=$(mktemp -d)/ratelimitbench.test
go test -c -o "$bin" .
out=${OUT:-$(mktemp)}
: >"$out"
for i in $(seq 1 "$rounds"); do
  "$bin" -test.run '^$' -test.bench "$pattern" -test.benchmem -test.benchtime "$benchtime" -test.count 1 | tee -a "$out"
done
rm -rf "$(dirname "$bin")"
go run golang.org/x/perf/cmd/benchstat@latest "$out"
