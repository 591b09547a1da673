#!/usr/bin/env bash
# Times a backupkit backup of the 1,000,000-row users table against the shell
# pipeline `pg_dump "$URL" | gzip > file`, alternating the two, RUNS times
# each, and prints medians, the ratio and output sizes.
#
#   DATABASE_URL  server to use (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable);
#                 the table lives in its own database, BENCH_DB (default covet_bench_backup)
#   RUNS          repetitions (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
BENCH_DB="${BENCH_DB:-covet_bench_backup}"
RUNS="${RUNS:-5}"
# Same server and options, other database.
URL=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/${BENCH_DB}#" <<<"$BASE_URL")

if ! psql "$BASE_URL" -XAtqc "select 1 from pg_database where datname = '${BENCH_DB}'" | grep -q 1; then
  psql "$BASE_URL" -Xqc "create database ${BENCH_DB}"
fi
rows=$(psql "$URL" -XAtqc "select count(*) from users" 2>/dev/null || echo 0)
if [ "$rows" != 1000000 ]; then
  echo "creating users (1,000,000 rows) in ${BENCH_DB}" >&2
  psql "$URL" -Xq -v ON_ERROR_STOP=1 <<'SQL'
DROP TABLE IF EXISTS users;
CREATE TABLE users (
  id         bigserial PRIMARY KEY,
  username   text NOT NULL,
  email      text NOT NULL,
  status     text NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO users (username, email, status, created_at)
SELECT 'user' || g, 'user' || g || '@example.com',
       CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds'
FROM generate_series(1, 1000000) AS g;
VACUUM ANALYZE users;
SQL
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/covet-backup" ./backupkit/cmd/covet-backup

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

: >"$work/base.t"
variants=(gzip plain7 zstd)
declare -A args=(
  [gzip]="-compression gzip"                      # the default: custom format, pgzip level 6
  [plain7]="-compression gzip -level 7 -format plain" # same SQL as the baseline, pgzip level 7
  [zstd]="-compression zstd"                      # custom format, zstd default level
)
declare -A label=(
  [gzip]="backupkit gzip 6, custom (default)"
  [plain7]="backupkit gzip 7, plain"
  [zstd]="backupkit zstd, custom"
)
declare -A size
for v in "${variants[@]}"; do : >"$work/$v.t"; done
for i in $(seq 1 "$RUNS"); do
  t0=$(now); pg_dump "$URL" | gzip >"$work/base.sql.gz"; t1=$(now)
  echo "$t1 - $t0" | bc >>"$work/base.t"
  base_size=$(stat -c %s "$work/base.sql.gz")
  line="run $i: pg_dump|gzip $(tail -1 "$work/base.t")s"
  for v in "${variants[@]}"; do
    rm -rf "$work/store-$v"
    # shellcheck disable=SC2086
    t0=$(now); "$work/covet-backup" -url "$URL" -dir "$work/store-$v" ${args[$v]} >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc >>"$work/$v.t"
    size[$v]=$(stat -c %s "$work"/store-"$v"/*.backup)
    line="$line, $v $(tail -1 "$work/$v.t")s"
  done
  echo "$line" >&2
done

b=$(median <"$work/base.t")
printf '\n%-40s %9s %7s %13s %10s\n' "backup of users (1,000,000 rows)" "median s" "ratio" "output bytes" "size ratio"
printf '%-40s %9.2f %7s %13d %10s\n' 'pg_dump | gzip (plain SQL, gzip -6)' "$b" "1.00" "$base_size" "1.000"
for v in "${variants[@]}"; do
  m=$(median <"$work/$v.t")
  printf '%-40s %9.2f %7.2f %13d %10.3f\n' "${label[$v]}" "$m" "$(echo "$m / $b" | bc -l)" "${size[$v]}" "$(echo "${size[$v]} / $base_size" | bc -l)"
done
echo "runs: $RUNS each, alternated; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
