#!/usr/bin/env bash
# Export benchmark for the stream package: the active rows (id, username,
# email, created_at) of a 1,000,000-row users table (90% active), timed as
#   psql COPY ... TO STDOUT WITH CSV HEADER   (the limit)
#   curl /copy    stream.Exporter.Copy
#   curl /query   stream.Exporter.Query
#   curl /naive   sqlx + encoding/csv
# plus the server's peak RSS (VmHWM) for each export path, and the guide's
# OFFSET batches of 1000 for the first 100,000 rows.
#
# Usage: DATABASE_URL=postgres://... bench/stream/run.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${1:-5}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
export TABLE=${TABLE:-stream_bench.users}
ROWS=1000000
QUERY="SELECT id, username, email, created_at FROM $TABLE WHERE status = 'active'"

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
psqlq() { psql "$DATABASE_URL" -X -v ON_ERROR_STOP=1 -qAt "$@"; }

# 1. The table, created once.
schema=${TABLE%.*}
[ "$schema" != "$TABLE" ] && psqlq -c "CREATE SCHEMA IF NOT EXISTS $schema"
have=0
if [ "$(psqlq -c "SELECT to_regclass('$TABLE') IS NOT NULL")" = t ]; then
  have=$(psqlq -c "SELECT count(*) FROM $TABLE")
fi
if [ "$have" != "$ROWS" ]; then
  echo "creating $TABLE with $ROWS rows"
  psqlq <<SQL
DROP TABLE IF EXISTS $TABLE;
CREATE TABLE $TABLE (
  id         bigint PRIMARY KEY,
  username   text NOT NULL,
  email      text NOT NULL,
  status     text NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO $TABLE
SELECT g, 'user' || g, 'user' || g || '@example.com',
       CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds'
FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE $TABLE;
SQL
fi
active=$(psqlq -c "SELECT count(*) FROM $TABLE WHERE status = 'active'")
echo "table $TABLE: $ROWS rows, $active active"

# 2. One server per export path (so VmHWM is that path's own peak), all
# running at once so every round sees the same machine load.
work=$(mktemp -d)
bin=$work/streamserver
declare -A pid port
PATHS="copy query naive"
cleanup() { for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$bin" ./stream/server

BASE_PORT=${PORT:-18099}
i=0
for path in $PATHS offset; do
  port[$path]=$((BASE_PORT + i)); i=$((i + 1))
  "$bin" -addr "127.0.0.1:${port[$path]}" & pid[$path]=$!
done
for path in $PATHS offset; do
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:${port[$path]}/" && break; sleep 0.1; done
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/${pid[$1]}/stat"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/${pid[$1]}/status"; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
tck=$(getconf CLK_TCK)

time_psql() {
  local t0; t0=$(now)
  psql "$DATABASE_URL" -X -qc "COPY ($QUERY) TO STDOUT WITH CSV HEADER" > /dev/null
  echo "$(now) - $t0" | bc
}
# time_curl PATH [URL-SUFFIX]: wall seconds; the body size goes to $work/bytes.PATH.
time_curl() {
  local t0; t0=$(now)
  curl -sS --fail -o /dev/null -w '%{size_download}' "http://127.0.0.1:${port[$1]}/$1${2:-}" > "$work/bytes.$1"
  echo "$(now) - $t0" | bc
}

# 3. Rounds: psql COPY, then each path; ratios are taken within a round.
declare -A times ratios cpu
for _ in $(seq 1 "$REPS"); do
  tp=$(time_psql)
  times[psql]+="$tp "
  for path in $PATHS; do
    c0=$(cpu_ticks "$path")
    t=$(time_curl "$path")
    cpu[$path]+="$(echo "scale=3; ($(cpu_ticks "$path") - $c0) / $tck" | bc) "
    times[$path]+="$t "
    ratios[$path]+="$(echo "scale=3; $t / $tp" | bc) "
  done
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
printf '\n%-26s %9s %12s %13s %11s %10s\n' "export ($active rows)" "median s" "median ×COPY" "server CPU s" "peak RSS" "bytes"
printf '%-26s %9s %12s %13s %11s %10s\n' "psql COPY (the limit)" "$(med "${times[psql]}")" "1.00" "-" "-" "-"
for path in $PATHS; do
  printf '%-26s %9s %12s %13s %7.1f MiB %10s\n' "curl /$path" "$(med "${times[$path]}")" "$(med "${ratios[$path]}")" \
    "$(med "${cpu[$path]}")" "$(echo "scale=1; $(hwm_kib "$path") / 1024" | bc)" "$(cat "$work/bytes.$path")"
done

# 4. The guide's OFFSET batches of 1000, first 100,000 rows, once.
if [ "${SKIP_OFFSET:-0}" != 1 ]; then
  t=$(time_curl offset "?limit=100000")
  printf '%-26s %9.3f %12s %13s %7.1f MiB %10s\n' "curl /offset (first 100k)" "$t" "-" "-" \
    "$(echo "scale=1; $(hwm_kib offset) / 1024" | bc)" "$(cat "$work/bytes.offset")"
fi
echo "median ×COPY: median over rounds of (path time / psql COPY time in the same round)"
echo "goal: ≤ 1.25× psql COPY; peak RSS < 32 MiB"
