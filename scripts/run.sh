#!/usr/bin/env bash
# `make run`: the whole dashboard (web, worker, beat) in the foreground; Ctrl-C stops all.
# Sized for a NAS by default (issue 28; README, "Memory"): one web process with threads, one worker
# with a pool of threads and the scheduler (beat) as one of its threads. deploy/entrypoint.sh starts
# the same commands from the same settings.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f .env ]; then set -a; . ./.env; set +a; fi
export PORT="${PORT:-8000}"
export DATA_DIR="${DATA_DIR:-$PWD/data}"
export REDIS_URL="${REDIS_URL:-redis://localhost:6379/0}"
# glibc reads it as a process starts: fewer malloc arenas in the threaded web and worker (README, "Memory").
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
mkdir -p "$DATA_DIR"
PY=.venv/bin/python

bash scripts/ensure-venv.sh requirements.txt

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "Stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -f "$DATA_DIR/redis/redis.pid" ]; then kill "$(cat "$DATA_DIR/redis/redis.pid")" 2>/dev/null || true; fi
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

bash scripts/ensure-redis.sh

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
if [ -n "${DJANGO_SUPERUSER_USERNAME:-}" ] && [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
  $PY manage.py ensure_superuser
fi

echo "registry-admin: http://0.0.0.0:$PORT (registry ${REGISTRY_URL:-http://localhost:5000})"
worker_args=(--pool "${CELERY_POOL:-threads}" --concurrency "${CELERY_CONCURRENCY:-4}")
if [ -n "${CELERY_MAX_TASKS_PER_CHILD:-}" ]; then worker_args+=(--max-tasks-per-child "$CELERY_MAX_TASKS_PER_CHILD"); fi
beat_in_worker=$($PY -c 'from registry_admin.env import envbool; print(int(envbool("BEAT_IN_WORKER", True)))')
if [ "$beat_in_worker" = 1 ]; then worker_args+=(--beat-thread); fi

# gunicorn's asgi worker on uvloop: the registry's events and /-/alive answered on its loop, Django's
# pages in WEB_THREADS threads (registry_admin/asgi.py reads it).
export WEB_THREADS="${WEB_THREADS:-8}"
.venv/bin/gunicorn registry_admin.asgi:application --bind "0.0.0.0:$PORT" \
  --workers "${WEB_WORKERS:-1}" --worker-class asgi --asgi-loop uvloop --config deploy/gunicorn.conf.py &
pids+=($!)
# The worker's small objects from malloc too, not pymalloc's arenas: what a long task freed can then
# be handed back (malloc_trim after it) instead of staying in half-used arenas (README, "Memory").
# The web keeps Python's faster default: it holds no long task's leftovers, and answers events.
PYTHONMALLOC="${PYTHONMALLOC:-malloc}" .venv/bin/celery -A registry_admin worker --loglevel INFO "${worker_args[@]}" &
pids+=($!)
if [ "$beat_in_worker" = 0 ]; then
  .venv/bin/celery -A registry_admin beat --loglevel INFO --pidfile "$DATA_DIR/celerybeat.pid" &
  pids+=($!)
fi

# Stop everything as soon as one of them ends, so a crash does not go unnoticed.
wait -n
echo "A process of the dashboard ended; stopping the others."
exit 1
