#!/usr/bin/env bash
# Runs every comparison in BENCHMARKS.md through the measurement protocol
# (go run ./protocol: interleaved rounds in rotating order, every arm in its
# own process, load average gate, CPU time beside wall time, medians and
# per-round ratios), one suite after another, and keeps each suite's report
# in $OUT/<suite>.txt.
#
#   cd bench && ./protocol.sh                  # every suite
#   cd bench && ./protocol.sh metrics backup   # some suites
#
#   ROUNDS      rounds kept per suite (default 5)
#   BENCHTIME   -test.benchtime of the Go benchmarks (default 300ms)
#   OUT         report directory (default a new temporary directory)
#   DATABASE_URL, REDIS_URL   the shared servers (defaults: 127.0.0.1)
#   SMOKE=1     keep every round whatever the load (to try suites out)
#   STEP, LOAD_ARGS  step length and other flags of the load test (go run ./load -h)
#   LOAD_ROUNDS rounds of the load test's read-mix comparison (default 3)
#   PLOTS       where the load test writes load.json and load.svg (default plots)
#   BACKUP_ROWS rows of the example-schema table of the backup-example suite (default 1000000)
#
# Needs: Go, psql/pg_dump, redis-server (a private one is started for the
# Redis comparisons), wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-5}
BENCHTIME=${BENCHTIME:-300ms}
OUT=${OUT:-$(mktemp -d)}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
mkdir -p "$OUT"
work=$(mktemp -d)
cleanup() {
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/protocol" ./protocol
P=("$work/protocol" -rounds "$ROUNDS" -benchtime "$BENCHTIME")
[ "${SMOKE:-0}" = 1 ] && P+=(-smoke)

suite() { # name, then protocol arguments
  local name=$1; shift
  echo "=== $name ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  "${P[@]}" "$@" | tee "$OUT/$name.txt"
}

# A private redis-server for the Redis comparisons, so that no other client
# shares it.
private_redis() {
  [ -n "${redis_pid:-}" ] && return
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
  redis_pid=$!
  for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  PRIVATE_REDIS=redis://127.0.0.1:$port/0
}

run_health() {
  suite health -title "health: readiness, two cached checks" -test ./health \
    -arm bare='^BenchmarkBare$' -arm covet='^BenchmarkCovet$' -arm alexliesenfeld='^BenchmarkAlexliesenfeld$' \
    -overhead covet/alexliesenfeld
}

run_metrics() {
  suite metrics-harness -title "metrics: project harness" -test ./metrics \
    -arm bare='^BenchmarkMetrics$/^bare$' -arm covet='^BenchmarkMetrics$/^covet$' \
    -arm promhttp='^BenchmarkMetrics$/^promhttp$' -arm slok='^BenchmarkMetrics$/^slok$' \
    -arm covet+accesslog='^BenchmarkMetrics$/^covet\+accesslog$' \
    -overhead covet/slok -overhead covet/promhttp
  suite metrics-alone -title "metrics: middleware alone" -test ./metrics \
    -arm bare='^BenchmarkOverhead$/^bare$' -arm covet='^BenchmarkOverhead$/^covet$' \
    -arm promhttp='^BenchmarkOverhead$/^promhttp$' -arm slok='^BenchmarkOverhead$/^slok$' \
    -overhead covet/slok -overhead covet/promhttp
}

run_securehdr() {
  suite securehdr -title "securehdr: ten headers" -test ./securehdr \
    -arm bare='^BenchmarkHeaders$/^impl=bare$' -arm byhand='^BenchmarkHeaders$/^impl=byhand$' \
    -arm securehdr='^BenchmarkHeaders$/^impl=securehdr$' -arm unrolled='^BenchmarkHeaders$/^impl=unrolled$' \
    -arm securehdr-nonce='^BenchmarkNonce$/^impl=securehdr$' -arm unrolled-nonce='^BenchmarkNonce$/^impl=unrolled$' \
    -overhead securehdr/unrolled -overhead securehdr-nonce/unrolled-nonce -overhead byhand/unrolled
}

run_ratelimit() {
  for keys in one-key 100k-keys; do
    suite "ratelimit-memory-$keys" -title "ratelimit: memory store, HTTP harness, $keys" -test ./ratelimit -benchtime 200000x \
      -arm bare="^BenchmarkMemory\$/^$keys\$/^bare\$" -arm covet="^BenchmarkMemory\$/^$keys\$/^covet\$" \
      -arm httprate="^BenchmarkMemory\$/^$keys\$/^httprate\$" -arm ulule="^BenchmarkMemory\$/^$keys\$/^ulule\$" \
      -overhead covet/httprate -overhead covet/ulule
    suite "ratelimit-alone-$keys" -title "ratelimit: memory store, middleware alone, $keys" -test ./ratelimit -benchtime 200000x \
      -arm bare="^BenchmarkOverhead\$/^$keys\$/^bare\$" -arm covet="^BenchmarkOverhead\$/^$keys\$/^covet\$" \
      -arm httprate="^BenchmarkOverhead\$/^$keys\$/^httprate\$" -arm ulule="^BenchmarkOverhead\$/^$keys\$/^ulule\$" \
      -overhead covet/httprate -overhead covet/ulule
  done
  private_redis
  REDIS_URL=$PRIVATE_REDIS suite ratelimit-redis -title "ratelimit: Redis, 1,000 keys (private redis-server)" -test ./ratelimit \
    -benchtime 30000x -mine redis-server -metric ns/op \
    -arm covet='^BenchmarkRedis$/^covet$' -arm covet-fixed='^BenchmarkRedis$/^covet-fixed$' \
    -arm redis_rate='^BenchmarkRedis$/^redis_rate$' -arm ulule='^BenchmarkRedis$/^ulule$'
}

run_jwtauth() {
  suite jwtauth -title "jwtauth: HS256, project harness" -test ./jwtauth \
    -arm bare='^BenchmarkHS256$/^bare$' -arm covet='^BenchmarkHS256$/^covet$' \
    -arm covet-denylist='^BenchmarkHS256$/^covet-denylist-memory$' -arm go-chi-jwtauth='^BenchmarkHS256$/^go-chi-jwtauth$' \
    -overhead covet/go-chi-jwtauth
  suite jwtauth-alone -title "jwtauth: HS256, middleware alone" -test ./jwtauth \
    -arm bare='^BenchmarkOverhead$/^bare$' -arm covet='^BenchmarkOverhead$/^covet$' \
    -arm go-chi-jwtauth='^BenchmarkOverhead$/^go-chi-jwtauth$' \
    -overhead covet/go-chi-jwtauth
}

# What unsafe buys: jwtauth keeps one unsafe conversion (ratelimit dropped
# its own when this suite showed it paid 6 %, under the 10 % bar), and
# -tags purego builds it without it. purego also turns off the standard
# library's assembly (crypto/sha256 here), so the comparison is built with
# -tags covet_purego instead: the same plain conversion, nothing else
# changed. The bench test binary is built twice (default and covet_purego);
# an arm runs one binary on the middleware-alone benchmark's bare and covet
# sub-benchmarks in one process (unsafe/arm.sh) and reports covet's overhead
# over bare. The base arm is the default build, so the per-round ratio
# column is purego/default of that overhead: 1.10× or more is what keeping
# unsafe needs.
run_unsafe() {
  go test -c -o "$work/unsafe-jwtauth-default.test" ./jwtauth
  go test -c -tags covet_purego -o "$work/unsafe-jwtauth-purego.test" ./jwtauth
  suite unsafe-jwtauth -title "unsafe: jwtauth, middleware alone, default vs -tags covet_purego" -metric overhead-cpu-ns/op \
    -cmd default="bash unsafe/arm.sh $work/unsafe-jwtauth-default.test '^BenchmarkOverhead\$' $BENCHTIME" \
    -cmd purego="bash unsafe/arm.sh $work/unsafe-jwtauth-purego.test '^BenchmarkOverhead\$' $BENCHTIME"
}

run_cachex() {
  private_redis
  REDIS_URL=$PRIVATE_REDIS suite cachex-redis -title "cachex: Redis hit (private redis-server)" -test ./cachex -mine redis-server -metric ns/op \
    -arm cachex='^BenchmarkRedisHit$/^cachex$' -arm go-redis-cache='^BenchmarkRedisHit$/^go-redis-cache$'
  suite cachex-local -title "cachex: local hit" -test ./cachex -metric ns/op \
    -arm cachex='^BenchmarkLocalHit$/^cachex$' -arm go-redis-cache='^BenchmarkLocalHit$/^go-redis-cache$'
}

run_pool() {
  suite pool -title "pool: acquire + release" -test ./pool -metric ns/op \
    -arm covet='^BenchmarkAcquireRelease$/^covet_pool.Resources$' -arm puddle='^BenchmarkAcquireRelease$/^puddle$' \
    -arm sync.Pool='^BenchmarkAcquireRelease$/^sync.Pool'
}

run_stream() {
  PROTOCOL_ARGS=$([ "${SMOKE:-0}" = 1 ] && echo -smoke) bash stream/run.sh "$ROUNDS" | tee "$OUT/stream.txt"
  suite stream-inprocess -title "stream: 90,000 rows in process" -test ./stream -benchtime 10x -metric B/op -mine postgres \
    -arm sqlx+encoding/csv='^BenchmarkExport$/^sqlx\+encoding/csv$' -arm stream.Copy='^BenchmarkExport$/^stream.Copy$' \
    -arm stream.Query='^BenchmarkExport$/^stream.Query$'
}

run_backup() {
  local urls one four bin=$work/covet-backup
  urls=$(bash backupkit/data.sh)
  one=$(sed -n 1p <<<"$urls"); four=$(sed -n 2p <<<"$urls")
  go build -o "$bin" ./backupkit/cmd/covet-backup
  suite backup -title "backupkit: users, 1,000,000 rows" -mine postgres -base floor -metric wall-s \
    -ratio default/pg_dump-gzip -ratio gzip6-custom/pg_dump-gzip \
    -cmd floor="pg_dump -Fc -Z0 '$one' > /dev/null" \
    -cmd pg_dump-gzip="pg_dump '$one' | gzip > $work/base.sql.gz && echo metric bytes \$(stat -c %s $work/base.sql.gz)" \
    -cmd default="rm -rf $work/d && $bin -url '$one' -dir $work/d" \
    -cmd gzip6-custom="rm -rf $work/g && $bin -url '$one' -dir $work/g -compression gzip" \
    -cmd zstd2-custom="rm -rf $work/z && $bin -url '$one' -dir $work/z -compression zstd -level 2"
  run_backup_example
  suite backup-parallel -title "backupkit: four tables of 1,000,000 rows" -mine postgres -base jobs1 -metric wall-s \
    -cmd floor="pg_dump -Fc -Z0 '$four' > /dev/null" \
    -cmd jobs1="rm -rf $work/j1 && $bin -url '$four' -dir $work/j1" \
    -cmd jobs2="rm -rf $work/j2 && $bin -url '$four' -dir $work/j2 -jobs 2" \
    -cmd jobs4="rm -rf $work/j4 && $bin -url '$four' -dir $work/j4 -jobs 4"
  suite backup-pipeline -title "backupkit: compression pipeline, 16 MiB" -test ./backupkit -benchtime 3x -metric ns/op \
    -arm stdlib-gzip='^BenchmarkStdlibGzip$' -arm pgzip='^BenchmarkPipelineGzip$' -arm zstd='^BenchmarkPipelineZstd$'
}

# The backup-example suite alone: cd bench && ./protocol.sh backup_example
run_backup_example() {
  # What users of the example see: the example's own `example backup` of its
  # real users table (argon2id hashes, eight columns), VACUUMed, beside the
  # floor and covet-backup on the same table. The fresh-table case (no
  # VACUUM: the first reader sets hint bits) cannot share a table between
  # arms; backupkit/example.sh times it.
  local ex exenv exdir=$work/exdata bin=$work/covet-backup
  go build -o "$bin" ./backupkit/cmd/covet-backup
  ex=$(ROWS=${BACKUP_ROWS:-1000000} DB=covet_bench_backup_example_p bash backupkit/example.sh prepare)
  (cd ../example && GOWORK=off go build -o "$work/example" .)
  exenv="env -i PATH=$PATH HOME=$HOME DATABASE_URL='$ex' DATA_DIR=$exdir SECRET_KEY=bench-secret-key-0123456789abcdef0123 ENVIRONMENT=development"
  suite backup-example -title "backupkit: the example's users table, ${BACKUP_ROWS:-1000000} rows, example backup" -mine postgres -base floor -metric wall-s \
    -cmd floor="pg_dump -Fc -Z0 '$ex' > /dev/null" \
    -cmd covet-backup="rm -rf $work/x && $bin -url '$ex' -dir $work/x" \
    -cmd example-backup="rm -rf $work/xe && $exenv BACKUP_TARGET=$work/xe $work/example backup 2>/dev/null"
}

run_fullstack() {
  go build -o "$work/fsserver" ./fullstack/server
  BIN=$work/fsserver DURATION=${DURATION:-5s} suite fullstack -title "full stack, wrk -t2 -c64" -base bare -metric req/s \
    -cmd bare='bash fullstack/arm.sh bare' -cmd headers='bash fullstack/arm.sh headers' \
    -cmd anchor='bash fullstack/arm.sh anchor' -cmd covet='bash fullstack/arm.sh covet' -ratio covet/headers
}

run_tracing() {
  suite tracing -title "tracing: metrics stack with tracing off, on, and otelhttp" -test ./tracing \
    -arm stack='^BenchmarkTracing$/^stack$' -arm off='^BenchmarkTracing$/^off$' \
    -arm on='^BenchmarkTracing$/^on$' -arm otelhttp='^BenchmarkTracing$/^otelhttp$' \
    -overhead on/otelhttp -overhead off/otelhttp
}

# The load test; its steps go to plots/load.json (PLOTS=dir to change) and
# are drawn as plots/load.svg (latency against offered rate). The read-mix
# comparison runs LOAD_ROUNDS rounds per mode (default 3), each a search per
# arm with the steps alternating, and its ratio is the median of the rounds'.
run_load() {
  local plots=${PLOTS:-plots}
  # shellcheck disable=SC2046,SC2086
  go run ./load -step "${STEP:-5s}" -rounds "${LOAD_ROUNDS:-3}" -data "$plots/load.json" ${LOAD_ARGS:-} $([ "${SMOKE:-0}" = 1 ] && echo -smoke) | tee "$OUT/load.txt"
  go run ./load/plot -in "$plots/load.json" -out "$plots/load.svg"
}

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(health metrics securehdr ratelimit jwtauth cachex pool stream backup unsafe fullstack tracing load)
for s in "${suites[@]}"; do "run_$s"; done
echo "reports in $OUT" >&2
