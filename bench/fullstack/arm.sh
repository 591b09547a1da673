#!/usr/bin/env bash
# One arm of the full-stack comparison, for the protocol driver: starts the
# server built at $BIN in mode $1 on a free port, warms it up with wrk for
# 1 s, loads it for $DURATION (default 5s) with wrk -t2 -c64 keep-alive, and
# prints the throughput and the server's CPU time per request as
# "metric <unit> <value>" lines. Non-2xx responses fail the arm.
set -euo pipefail
mode=$1
: "${BIN:?BIN: the fullstack server binary}"
DURATION=${DURATION:-5s}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
token=$("$BIN" -token)
"$BIN" -mode "$mode" -addr "$addr" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs -o /dev/null -H "Authorization: Bearer $token" "http://$addr/api/hello" && break; sleep 0.05; done
wrk -t2 -c64 -d1s -H "Authorization: Bearer $token" "http://$addr/api/hello" >/dev/null
c0=$(awk '{print $14 + $15}' /proc/$pid/stat)
out=$(wrk -t2 -c64 -d"$DURATION" -H "Authorization: Bearer $token" "http://$addr/api/hello")
c1=$(awk '{print $14 + $15}' /proc/$pid/stat)
if grep -q "Non-2xx" <<<"$out"; then echo "$mode: non-2xx responses" >&2; echo "$out" >&2; exit 1; fi
reqs=$(awk '/requests in/ {print $1}' <<<"$out")
echo "metric req/s $(awk '/Requests\/sec/ {print $2}' <<<"$out")"
echo "metric server-cpu-us/req $(awk -v a="$c0" -v b="$c1" -v n="$reqs" -v t="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b-a)/t*1e6/n}')"
