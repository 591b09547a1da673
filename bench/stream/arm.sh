#!/usr/bin/env bash
# One arm of the export comparison, for the protocol driver: downloads
# /PATH from the export server on PORT (process PID) to /dev/null and prints
# the server's CPU time for it and the body size as "metric" lines.
set -euo pipefail
path=$1 port=$2 pid=$3 suffix=${4:-}
tck=$(getconf CLK_TCK)
c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
bytes=$(curl -sS --fail -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/$path$suffix")
c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
echo "metric server-cpu-s $(awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN {printf "%.3f", (b-a)/t}')"
echo "metric server-peak-rss-MiB $(awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$pid/status")"
echo "metric bytes $bytes"
