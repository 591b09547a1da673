#!/usr/bin/env bash
# Creates the backup benchmark databases on the server DATABASE_URL points at,
# when they are missing:
#   covet_bench_backup   users, 1,000,000 rows (id, username, email, status, created_at)
#   covet_bench_backup4  four such tables, t1 … t4 (the parallel-dump figure)
# and prints the URLs of both, one a line.
set -euo pipefail
BASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
url() { sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$1#" <<<"$BASE_URL"; }

table() { # name
  cat <<SQL
DROP TABLE IF EXISTS $1;
CREATE TABLE $1 (
  id         bigserial PRIMARY KEY,
  username   text NOT NULL,
  email      text NOT NULL,
  status     text NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO $1 (username, email, status, created_at)
SELECT 'user' || g, 'user' || g || '@example.com',
       CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds'
FROM generate_series(1, 1000000) AS g;
VACUUM ANALYZE $1;
SQL
}

ensure() { # db table...
  local db=$1; shift
  if ! psql "$BASE_URL" -XAtqc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
    psql "$BASE_URL" -Xqc "create database $db"
  fi
  for t in "$@"; do
    rows=$(psql "$(url "$db")" -XAtqc "select count(*) from $t" 2>/dev/null || echo 0)
    if [ "$rows" != 1000000 ]; then
      echo "creating $db.$t (1,000,000 rows)" >&2
      table "$t" | psql "$(url "$db")" -Xq -v ON_ERROR_STOP=1
    fi
  done
}
ensure covet_bench_backup users
ensure covet_bench_backup4 t1 t2 t3 t4
url covet_bench_backup
url covet_bench_backup4
