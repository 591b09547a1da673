#!/usr/bin/env bash
# Runs the securehdr comparison in interleaved rounds (bare, byhand, securehdr
# and unrolled/secure measured within a second of each other) so that load on a
# shared machine hits all four alike, then summarises medians.
# Usage, from the bench module: ./securehdr/run.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
out=$(mktemp)
go test -c -o "$out.test" ./securehdr/
for _ in $(seq "$rounds"); do
  "$out.test" -test.run '^$' -test.bench . -test.benchmem -test.count 1 -test.benchtime 200ms >>"$out"
done
go run golang.org/x/perf/cmd/benchstat@latest "$out"
rm -f "$out" "$out.test"
