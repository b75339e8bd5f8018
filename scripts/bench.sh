#!/usr/bin/env bash
# Builds release binaries and runs the standard benchmark scenarios of BENCHMARKS.md, each beside
# the bare-HTTP ceiling measured in the same run on the same machine. Prints a markdown table of
# medians and keeps every raw RESULT line in $OUT/raw.txt.
#
#   scripts/bench.sh                 # everything (about 40 minutes on 2 cores)
#   SCENARIOS="1 3 5" RUNS=3 scripts/bench.sh
#
# Environment: RUNS (default 3), DURATION (seconds per run, default 10), DEVICES (default 10000),
# BIG (the large inventory, default 1000000), FERROACS_BENCH_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/test; PostgreSQL scenarios are skipped when unreachable),
# SCENARIOS (default "1 2 3 4 5"), BACKENDS (default "sqlite postgres"), OUT (default target/bench).
# Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
DEVICES=${DEVICES:-10000}
BIG=${BIG:-1000000}
SCENARIOS=${SCENARIOS:-"1 2 3 4 5"}
PG=${FERROACS_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
OUT=${OUT:-target/bench}
mkdir -p "$OUT"
RAW="$OUT/raw.txt"
: > "$RAW"

cargo build --release --quiet
B=target/release/ferroacs
API_PORT=18900
CWMP_PORT=18901
CEIL_PORT=18902

have_pg() { command -v psql >/dev/null && psql "$PG" -Atc 'select 1' >/dev/null 2>&1; }

SERVER_PID=""
CEIL_PID=""
SCHEMAS=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "$CEIL_PID" ] && kill "$CEIL_PID" 2>/dev/null || true
  # The PostgreSQL schemas of the run (a million devices is about 1 GB).
  for s in $SCHEMAS; do psql "$PG" -qc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# start_server BACKEND NAME: a fresh database (a new SQLite file, or a new PostgreSQL schema).
start_server() {
  local backend=$1 name=$2 url
  stop_server
  if [ "$backend" = sqlite ]; then
    rm -f "$OUT/$name.db"*
    url="sqlite://$OUT/$name.db"
  else
    psql "$PG" -qc "DROP SCHEMA IF EXISTS bench_$name CASCADE; CREATE SCHEMA bench_$name" >/dev/null 2>&1
    SCHEMAS="$SCHEMAS bench_$name"
    url="$PG?options=-c%20search_path%3Dbench_$name"
  fi
  DB_URL=$url
  $B serve --database-url "$url" --api-listen 127.0.0.1:$API_PORT --cwmp-listen 127.0.0.1:$CWMP_PORT \
    --connection-request-allow 127.0.0.0/8 --data-dir "$OUT/data" --auth-cache-ttl 60 \
    > "$OUT/$name.serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$API_PORT/api/v1/openapi.json" && break
    sleep 0.1
  done
  TOKEN=$($B token create --name "bench-$RANDOM$RANDOM" --admin --database-url "$url" | tail -n1)
}

# Restarts the server on the same database (to measure a quiet process).
restart_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  $B serve --database-url "$DB_URL" --api-listen 127.0.0.1:$API_PORT --cwmp-listen 127.0.0.1:$CWMP_PORT \
    --connection-request-allow 127.0.0.0/8 --data-dir "$OUT/data" --auth-cache-ttl 60 \
    >> "$OUT/restart.serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$API_PORT/api/v1/openapi.json" && break
    sleep 0.1
  done
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
}

# loadgen LABEL ARGS...: one run against the current server; prints and records its RESULT line.
loadgen() {
  local label=$1; shift
  local line
  line=$($B loadgen --api "http://127.0.0.1:$API_PORT" --token "$TOKEN" --pid "$SERVER_PID" "$@" 2>>"$OUT/loadgen.log" | grep '^RESULT' || true)
  echo "$label $line" >> "$RAW"
  echo "$line"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# median LABEL FIELD: the median of FIELD over the runs recorded under LABEL.
median() {
  grep "^$1 RESULT" "$RAW" | field "$2" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'
}

# repeat LABEL ARGS...: RUNS runs of the same load.
repeat() {
  local label=$1; shift
  for r in $(seq 1 "$RUNS"); do loadgen "$label" "$@" > /dev/null; done
}

ceiling() {
  $B ceiling --listen 127.0.0.1:$CEIL_PORT 2>/dev/null &
  CEIL_PID=$!
  sleep 0.5
}

TABLE="$OUT/table.md"
: > "$TABLE"
row() { local line; line=$(printf '| %s ' "$@"); echo "$line|" | tee -a "$TABLE"; }

backends=${BACKENDS:-"sqlite postgres"}
if ! have_pg; then
  backends=${backends//postgres/}
  echo "PostgreSQL unreachable at $PG: PostgreSQL scenarios skipped" >&2
fi
echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(uname -sr); $( (psql "$PG" -Atc 'select version()' 2>/dev/null || true) | cut -d' ' -f1-2)" | tee "$OUT/machine.txt"

ceiling
COMMON="--cwmp http://127.0.0.1:$CWMP_PORT/ --cpes 64 --duration $DURATION"

for s in $SCENARIOS; do
case $s in
1)
  row "scenario" "backend" "connections" "sessions/s" "session p50 ms" "session p99 ms" "ceiling sessions/s" "ratio"
  row "---" "---" "---" "---" "---" "---" "---" "---"
  for be in $backends; do
    start_server "$be" "s1_$be"
    loadgen warm --devices "$DEVICES" --cwmp "http://127.0.0.1:$CWMP_PORT/" --cpes 64 --duration 1 > /dev/null
    for mode in keepalive close; do
      share=0; [ $mode = close ] && share=1
      repeat "s1_${be}_$mode" $COMMON --devices "$DEVICES" --no-warmup --close-share $share
      repeat "s1_ceiling_${be}_$mode" --cwmp "http://127.0.0.1:$CEIL_PORT/" --cpes 64 --duration "$DURATION" --devices "$DEVICES" --no-warmup --close-share $share
      acs=$(median "s1_${be}_$mode" sessions_per_s); ceil=$(median "s1_ceiling_${be}_$mode" sessions_per_s)
      row "1: Inform sessions, $DEVICES devices" "$be" "$mode" "$acs" "$(median "s1_${be}_$mode" session_p50_ms)" "$(median "s1_${be}_$mode" session_p99_ms)" "$ceil" "$(awk -v a="$acs" -v c="$ceil" 'BEGIN{printf "%.0f%%", 100*a/c}')"
    done
  done
  ;;
2)
  for be in $backends; do
    start_server "$be" "s2_$be"
    loadgen "s2_${be}_register" --devices "$BIG" --organizations 100 --cwmp "http://127.0.0.1:$CWMP_PORT/" --cpes 0 --duration 1 > /dev/null
    repeat "s2_${be}" $COMMON --devices "$BIG" --organizations 100 --no-warmup
    row "2: Inform sessions, $BIG devices" "$be" "keepalive" "$(median "s2_${be}" sessions_per_s)" "$(median "s2_${be}" session_p50_ms)" "$(median "s2_${be}" session_p99_ms)" "" ""
    # 4 at the large inventory, on the same database.
    repeat "s4_${be}_big" --cwmp "http://127.0.0.1:$CWMP_PORT/" --devices "$BIG" --organizations 100 --cpes 0 --rest-rate 300 --duration "$DURATION"
    row "4: REST at $BIG devices" "$be" "list p99 $(median "s4_${be}_big" rest_list_p99_ms) ms" "detail p99 $(median "s4_${be}_big" rest_detail_p99_ms) ms" "" "" "" ""
  done
  ;;
3)
  for be in $backends; do
    start_server "$be" "s3_$be"
    loadgen warm --devices "$DEVICES" --cwmp "http://127.0.0.1:$CWMP_PORT/" --cpes 64 --duration 1 > /dev/null
    repeat "s3_${be}" $COMMON --devices "$DEVICES" --no-warmup --work-share 0.05 --work-kinds settings --rest-rate 200
    row "3: mixed (5% sessions with SetParameterValues, 200 REST/s)" "$be" "keepalive" "$(median "s3_${be}" sessions_per_s)" "$(median "s3_${be}" session_p50_ms)" "$(median "s3_${be}" session_p99_ms)" "lost $(median "s3_${be}" lost)" "REST list p99 $(median "s3_${be}" rest_list_p99_ms) ms"
  done
  ;;
4)
  for be in $backends; do
    start_server "$be" "s4_$be"
    loadgen "s4_${be}_fill" --devices 100000 --organizations 100 --cwmp "http://127.0.0.1:$CWMP_PORT/" --cpes 64 --duration "$DURATION" > /dev/null
    repeat "s4_${be}_100k" --cwmp "http://127.0.0.1:$CWMP_PORT/" --devices 100000 --organizations 100 --cpes 0 --rest-rate 300 --duration "$DURATION"
    row "4: REST at 100000 devices" "$be" "list p99 $(median "s4_${be}_100k" rest_list_p99_ms) ms" "detail p99 $(median "s4_${be}_100k" rest_detail_p99_ms) ms" "" "" "" ""
  done
  ;;
5)
  start_server sqlite s5
  loadgen s5_fill --devices "$DEVICES" --cwmp "http://127.0.0.1:$CWMP_PORT/" --cpes 64 --duration 1 > /dev/null
  restart_server
  sleep 2
  idle=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$SERVER_PID/status")
  loadgen s5_10k --devices "$DEVICES" --cwmp "http://127.0.0.1:$CWMP_PORT/" --cpes 10000 --duration "$DURATION" --no-warmup > /dev/null
  row "5: memory (SQLite)" "idle $idle MB" "peak with 10000 concurrent sessions $(median s5_10k peak_rss_mb) MB" "" "" "" "" ""
  ;;
esac
done
echo
echo "table: $TABLE; raw results: $RAW"
