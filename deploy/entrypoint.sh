#!/bin/sh
# The image's entrypoint: `web`, `worker` or `beat` (docker-compose.yml's commands); anything
# else runs as given, e.g. `docker compose exec web python manage.py drf_create_token NAME`.
set -eu

role="${1:-web}"

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
    exec gunicorn registry_admin.wsgi:application \
      --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_WORKERS:-2}" --threads 4 --worker-class gthread \
      --worker-tmp-dir /dev/shm \
      --config /app/deploy/gunicorn.conf.py --error-logfile -
    ;;
  worker)
    data_dir_is_writable
    # The node name is what the health check pings: worker@<this container's hostname>.
    exec celery -A registry_admin worker --hostname "worker@%h" \
      --loglevel "${LOG_LEVEL:-INFO}" --concurrency "${CELERY_CONCURRENCY:-2}"
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
