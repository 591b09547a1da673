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
# Usage: DATABASE_URL=postgres://... bench/stream/run.sh [rounds]
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

# 3. Interleaved rounds through the protocol driver: psql COPY, then each
# path, order rotating; ratios are taken within a round.
arms=(-cmd "psql-copy=psql \"$DATABASE_URL\" -X -qc \"COPY ($QUERY) TO STDOUT WITH CSV HEADER\" > /dev/null")
for path in $PATHS; do
  arms+=(-cmd "$path=bash stream/arm.sh $path ${port[$path]} ${pid[$path]}")
done
if [ "${SKIP_OFFSET:-0}" != 1 ]; then
  arms+=(-cmd "offset-first-100k=bash stream/arm.sh offset ${port[offset]} ${pid[offset]} '?limit=100000'")
fi
# shellcheck disable=SC2086
go run ./protocol -title "stream: export of $active rows" -rounds "$REPS" -base psql-copy -metric wall-s \
  -mine postgres,streamserver ${PROTOCOL_ARGS:-} "${arms[@]}"
echo "goal: ≤ 1.25× psql COPY (wall-s ratio); peak RSS < 32 MiB (server-peak-rss-MiB; each path has its own server)"
