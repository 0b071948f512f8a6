#!/usr/bin/env bash
# `make bench`: start the Procfile's stack on PostgreSQL + Redis, run the benchmarks, stop it.
#   BENCH_SECONDS=60 BENCH_RATES=50,100,200,400 bench/run.sh [webhook|fast-path|fast-path-import|backlog|csv|all]
#   (also BENCH_BACKLOG, BENCH_POOLS, BENCH_IMPORT_EXPORT_ROWS; csv needs bench/requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export PATH="$PWD/.venv/bin:$PATH"
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://root@127.0.0.1:5432/crokodial_bench}
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/3}
export DJANGO_SECRET_KEY=bench-only-secret LOG_LEVEL=WARNING HOST=127.0.0.1 PORT=${PORT:-8100}
# Plain HTTP on loopback: production's HTTPS redirect and secure cookies are off here.
export DJANGO_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0
SECONDS_PER_RATE=${BENCH_SECONDS:-60}
RATES=${BENCH_RATES:-50,100,200,400}
mkdir -p bench/results
psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='${DATABASE_URL##*/}'" \
  | grep -q 1 || createdb -d "${DATABASE_URL%/*}/postgres" "${DATABASE_URL##*/}" 2>/dev/null \
  || psql "${DATABASE_URL%/*}/postgres" -c "CREATE DATABASE ${DATABASE_URL##*/}"
$PY manage.py migrate --noinput -v0

pids=()
stop_stack() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 2
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_stack EXIT

start() {  # start <Procfile process name>: run it in its own process group
  setsid bash -c "exec env $(sed -n "s/^$1: //p" Procfile)" >"bench/results/$1.log" 2>&1 &
  pids+=($!)
}

wait_for_web() {
  for _ in $(seq 1 60); do
    curl -sf "http://$HOST:$PORT/api/health" >/dev/null && return 0
    sleep 0.5
  done
  echo "web did not start; see bench/results/web.log" >&2
  return 1
}

webhook() {
  USE_FAST_PATH=0 start web
  wait_for_web
  $PY bench/webhook_latency.py --url "http://$HOST:$PORT" --rates "$RATES" \
    --seconds "$SECONDS_PER_RATE" --watch "web=${pids[0]}" --json bench/results/webhook.json
  stop_stack
}

fast_path() {
  export USE_FAST_PATH=1
  start web
  start worker
  wait_for_web
  $PY bench/webhook_latency.py --url "http://$HOST:$PORT" --rates "$RATES" \
    --seconds "$SECONDS_PER_RATE" --watch "web=${pids[0]}" --watch "worker=${pids[1]}" \
    --fast-path --json bench/results/fast_path.json
  stop_stack
  unset USE_FAST_PATH
}

fast_path_import() {
  # The fast path at 200/s, alone and then with a 50 MB import running all along (issue 14).
  local file=bench/data/nextgen_150k.csv
  [ -f "$file" ] || $PY bench/generate_nextgen_csv.py --rows 150000 "$file"
  export USE_FAST_PATH=1
  start web
  start worker
  wait_for_web
  for mode in alone during-import; do
    extra=(); [ "$mode" = during-import ] && extra=(--during-import "$file")
    $PY bench/webhook_latency.py --url "http://$HOST:$PORT" --rates "${BENCH_RATE:-200}" \
      --seconds "$SECONDS_PER_RATE" --fast-path "${extra[@]}" \
      --json "bench/results/fast_path_$mode.json"
  done
  stop_stack
  unset USE_FAST_PATH
}

backlog() {
  $PY bench/worker_backlog.py --leads "${BENCH_BACKLOG:-10000}" --pools "${BENCH_POOLS:-threads:8,threads:32}"
}

csv() {
  # django-import-export manages a few hundred rows/s at best: time its first rows only.
  $PY bench/csv_import.py --import-export-rows "${BENCH_IMPORT_EXPORT_ROWS:-3000}"
}

case "${1:-all}" in
  webhook) webhook ;;
  fast-path) fast_path ;;
  fast-path-import) fast_path_import ;;
  backlog) backlog ;;
  csv) csv ;;
  all) webhook; fast_path; backlog; csv ;;
  *) echo "usage: $0 [webhook|fast-path|fast-path-import|backlog|csv|all]" >&2; exit 2 ;;
esac
