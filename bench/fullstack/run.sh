#!/usr/bin/env bash
# Full-stack throughput: one JSON route behind three middleware stacks (bare
# chi; the anchor stack promhttp + unrolled/secure + httprate +
# go-chi/jwtauth; covet's metrics + securehdr + ratelimit + jwtauth), each
# loaded with wrk in turn, ROUNDS times, interleaved so drift hits all three.
# Prints each run with its ratio to the same round's bare run, then per stack
# the median req/s and the median of those per-round ratios: on a noisy
# machine a round's three runs share most of the drift, so the per-round
# ratio is the steadier figure.
#
#   bash bench/fullstack/run.sh            # ROUNDS=5 DURATION=10s CONNS=64
# Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ADDR=${ADDR:-127.0.0.1:18090}

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
bin=$(mktemp -d)/server
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./fullstack/server
token=$("$bin" -token)

declare -A runs ratios
for round in $(seq 1 "$ROUNDS"); do
  for mode in bare anchor covet; do
    "$bin" -mode "$mode" -addr "$ADDR" &
    pid=$!
    for _ in $(seq 1 50); do curl -fs -o /dev/null -H "Authorization: Bearer $token" "http://$ADDR/api/hello" && break; sleep 0.1; done
    wrk -t"$THREADS" -c"$CONNS" -d2s -H "Authorization: Bearer $token" "http://$ADDR/api/hello" >/dev/null # warm-up
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "Authorization: Bearer $token" "http://$ADDR/api/hello")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    if grep -q "Non-2xx" <<<"$out"; then echo "$mode: non-2xx responses" >&2; echo "$out" >&2; exit 1; fi
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    runs[$mode]="${runs[$mode]:-} $rps"
    [[ $mode == bare ]] && bare_rps=$rps
    ratio=$(awk -v r="$rps" -v b="$bare_rps" 'BEGIN {printf "%.4f", r/b}')
    ratios[$mode]="${ratios[$mode]:-} $ratio"
    printf 'round %d %-6s %10.0f req/s  %.2fx bare\n' "$round" "$mode" "$rps" "$ratio"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
bare=$(median <<<"${runs[bare]}")
echo
echo "median of $ROUNDS rounds, wrk -t$THREADS -c$CONNS -d$DURATION"
printf '%-6s %10s  %-17s  %s\n' stack req/s "median per-round" "ratio of medians"
for mode in bare anchor covet; do
  m=$(median <<<"${runs[$mode]}")
  q=$(median <<<"${ratios[$mode]}")
  awk -v m="$mode" -v r="$m" -v q="$q" -v b="$bare" 'BEGIN {printf "%-6s %10.0f  %.2fx bare          %.2fx bare\n", m, r, q, r/b}'
done
