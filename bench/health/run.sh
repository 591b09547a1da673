#!/usr/bin/env bash
# Runs the health comparison: the test binary is built once, then run COUNT
# times with every benchmark in each run, so that the three handlers share
# the machine's load from moment to moment. Prints the raw lines and a
# benchstat summary.
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-2s}
bin=$(mktemp)
out=$(mktemp)
trap 'rm -f "$bin" "$out"' EXIT
go test -c -o "$bin" .
for _ in $(seq "$COUNT"); do
  "$bin" -test.run '^$' -test.bench . -test.benchmem -test.benchtime "$BENCHTIME" | tee -a "$out"
done
go run golang.org/x/perf/cmd/benchstat@latest "$out"
