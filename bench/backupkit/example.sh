#!/usr/bin/env bash
# What a user of the example sees: `example backup` (the example's own
# command: configuration, progress bar, backupkit's default) of the example's
# real users table (its schema from example/app/migrations, with argon2id
# password hashes, which do not compress), against the bare
# `pg_dump -Fc -Z0 > /dev/null` and bench/backupkit/cmd/covet-backup on the
# same table, and the bench's narrow five-column table beside it.
#
# Two table states:
#   vacuumed  created, then VACUUM ANALYZE (hint bits and visibility map set)
#   fresh     created just before the timed run, no VACUUM: the first reader
#             of each page sets its hint bits (and writes the page), so each
#             arm gets its own freshly created table
#
# Arms run in a rotating order each round; times are wall seconds; the
# medians and per-round ratios to the floor are printed with the load average.
#
#   cd bench && ROWS=200000 RUNS=3 bash backupkit/example.sh
#   bash backupkit/example.sh prepare   # only create the vacuumed example table; print its URL
#                                       # (protocol.sh's backup-example suite)
#
#   ROWS     rows per table (default 1000000)
#   RUNS     rounds (default 5)
#   STATES   "vacuumed fresh" (default) or one of them
#   KINDS    "example narrow" (default) or one of them
#   DATABASE_URL  server (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable);
#            the tables live in database covet_bench_backup_example
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
STATES=${STATES:-vacuumed fresh}
DB=${DB:-covet_bench_backup_example}
URL=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/${DB}#" <<<"$BASE_URL")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${1:-}" = prepare ]; then
  rows=$(psql "$URL" -XAtqc "select count(*) from users where password_hash like '\$argon2id%'" 2>/dev/null || echo 0)
  [ "$rows" = "$ROWS" ] || { echo "creating the example's users table ($ROWS rows) in $DB" >&2; PREPARE=1; }
fi
if [ "${1:-}" != prepare ]; then
  go build -o "$work/covet-backup" ./backupkit/cmd/covet-backup
  (cd ../example && GOWORK=off go build -o "$work/example" .)
fi

# fresh_db drops and recreates the database with one table: "example" (the
# example's schema, users table) or "narrow" (the bench's five columns).
fresh_db() { # kind vacuum(0|1)
  psql "$BASE_URL" -Xq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  if [ "$1" = example ]; then
    psql "$URL" -Xq -v ON_ERROR_STOP=1 -f ../example/app/migrations/schema_postgres.sql >/dev/null
    # The schema's migration version, so that the example sees a current database.
    psql "$URL" -Xq -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (username, email, bio, status, password_hash, created_at, last_login_at)
SELECT 'user' || g, 'user' || g || '@example.com',
       CASE WHEN g % 3 = 0 THEN 'likes long walks and short benchmarks' ELSE '' END,
       CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END,
       '\$argon2id\$v=19\$m=65536,t=1,p=2\$'
         || rtrim(encode(decode(md5(random()::text), 'hex'), 'base64'), '=') || '\$'
         || rtrim(encode(decode(md5(random()::text) || md5(random()::text), 'hex'), 'base64'), '='),
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds',
       CASE WHEN g % 2 = 0 THEN timestamptz '2025-01-01 00:00:00+00' + g * interval '3 seconds' END
FROM generate_series(1, $ROWS) AS g;
SQL
  else
    psql "$URL" -Xq -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE users (id bigserial PRIMARY KEY, username text NOT NULL, email text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO users (username, email, status, created_at)
SELECT 'user' || g, 'user' || g || '@example.com', CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds'
FROM generate_series(1, $ROWS) AS g;
SQL
  fi
  if [ "$2" = 1 ]; then psql "$URL" -Xqc "VACUUM ANALYZE users"; fi
  psql "$URL" -Xqc "CHECKPOINT" 2>/dev/null || true
}

if [ "${1:-}" = prepare ]; then
  [ -n "${PREPARE:-}" ] && fresh_db example 1 >&2
  echo "$URL"
  exit 0
fi

arm() { # name
  case $1 in
  floor) pg_dump -Fc -Z0 "$URL" >/dev/null ;;
  covet-backup) rm -rf "$work/d" && "$work/covet-backup" -url "$URL" -dir "$work/d" >/dev/null ;;
  example-backup)
    rm -rf "$work/e" && env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="$URL" DATA_DIR="$work/data" \
      BACKUP_TARGET="$work/e" SECRET_KEY=bench-secret-key-0123456789abcdef0123 ENVIRONMENT=development \
      "$work/example" backup 2>/dev/null ;;
  esac
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

arms=(floor covet-backup example-backup)
echo "# backup as the example's users see it: $ROWS rows, $RUNS rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in ${KINDS:-example narrow}; do
  for state in $STATES; do
    if [ "$state" = vacuumed ]; then fresh_db "$kind" 1; fi
    for a in "${arms[@]}"; do : >"$work/$kind-$state-$a.t"; : >"$work/$kind-$state-$a.c"; done
    for i in $(seq 1 "$RUNS"); do
      line="  $kind/$state round $i:"
      for j in "${!arms[@]}"; do
        a=${arms[$(((i + j) % ${#arms[@]}))]}
        if [ "$state" = fresh ]; then fresh_db "$kind" 0; fi
        # wall, and CPU of the arm's processes (not the PostgreSQL backend)
        TIMEFORMAT='%R %U %S'
        { time arm "$a"; } 2>"$work/time"
        read -r t u s <"$work/time"
        echo "$t" >>"$work/$kind-$state-$a.t"
        echo "$u + $s" | bc >>"$work/$kind-$state-$a.c"
        line="$line $a ${t}s (cpu $(tail -1 "$work/$kind-$state-$a.c")s)"
      done
      echo "$line (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    done
    size=$(psql "$URL" -XAtqc "select pg_size_pretty(pg_table_size('users'))")
    f=$(median <"$work/$kind-$state-floor.t")
    printf '%-8s %-9s table %-8s' "$kind" "$state" "$size"
    for a in "${arms[@]}"; do
      m=$(median <"$work/$kind-$state-$a.t")
      printf '  %s %.3fs (%.2fx, cpu %.3fs)' "$a" "$m" "$(echo "$m / $f" | bc -l)" "$(median <"$work/$kind-$state-$a.c")"
    done
    echo
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
