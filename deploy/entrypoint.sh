#!/bin/sh
# The image's entrypoint: `web`, `worker` or `beat` (docker-compose.yml's commands); anything
# else runs as given, e.g. `docker compose exec web python manage.py drf_create_token NAME`.
set -eu

role="${1:-web}"
# glibc reads it as a process starts: fewer malloc arenas in the threaded web and worker (README, "Memory").
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"

data_dir_is_writable() {
  if ! touch "$DATA_DIR/.write-test" 2>/dev/null; then
    echo "registry-admin: cannot write to DATA_DIR=$DATA_DIR as uid $(id -u)." >&2
    echo "On the NAS give the folder mounted there to that uid, e.g.:" >&2
    echo "  chown -R $(id -u):$(id -g) /share/Container/registry-admin" >&2
    exit 1
  fi
  rm -f "$DATA_DIR/.write-test"
}

case "$role" in
  web)
    data_dir_is_writable
    # Only web migrates; worker and beat wait for web to be healthy (depends_on in compose).
    python manage.py migrate --noinput
    python manage.py ensure_superuser
    # The registry token key and certificate (DATA_DIR/registry-token/), made before the registry needs them.
    python manage.py registry_token_certificate
    # gunicorn's asgi worker on uvloop: the registry's events and /-/alive answered on its loop,
    # Django's pages in WEB_THREADS threads (registry_admin/asgi.py reads it).
    export WEB_THREADS="${WEB_THREADS:-8}"
    exec gunicorn registry_admin.asgi:application \
      --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_WORKERS:-1}" --worker-class asgi --asgi-loop uvloop \
      --worker-tmp-dir /dev/shm \
      --config /app/deploy/gunicorn.conf.py --error-logfile -
    ;;
  worker)
    data_dir_is_writable
    # The node name is what the health check pings: worker@<this container's hostname>.
    # Sized for a NAS by default (README, "Memory"): a pool of threads, beat as one of its threads
    # (BEAT_IN_WORKER; false when the `beat` service of docker-compose.yml's profile runs it).
    set -- --pool "${CELERY_POOL:-threads}" --concurrency "${CELERY_CONCURRENCY:-4}"
    if [ -n "${CELERY_MAX_TASKS_PER_CHILD:-}" ]; then set -- "$@" --max-tasks-per-child "$CELERY_MAX_TASKS_PER_CHILD"; fi
    if [ "$(python -c 'from registry_admin.env import envbool; print(int(envbool("BEAT_IN_WORKER", True)))')" = 1 ]; then
      set -- "$@" --beat-thread
    fi
    # Its small objects from malloc, not pymalloc's arenas: what a long task freed can then be
    # handed back (malloc_trim after it). The web keeps Python's default (README, "Memory").
    export PYTHONMALLOC="${PYTHONMALLOC:-malloc}"
    exec celery -A registry_admin worker --hostname "worker@%h" --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    data_dir_is_writable
    # The schedules live in the database (django-celery-beat); the pidfile tells the health
    # check when beat started.
    exec celery -A registry_admin beat --loglevel "${LOG_LEVEL:-INFO}" \
      --pidfile /tmp/celerybeat.pid --schedule /tmp/celerybeat-schedule
    ;;
  *)
    exec "$@"
    ;;
esac
