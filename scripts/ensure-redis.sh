#!/usr/bin/env bash
# Make sure Redis answers at REDIS_URL: use it when it answers; else start a private
# redis-server under the data directory; else install Debian's redis-server; else say what to do.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_URL="${REDIS_URL:-redis://localhost:6379/0}"
DATA_DIR="${DATA_DIR:-$PWD/data}"

answers() {
  .venv/bin/python - "$REDIS_URL" <<'PY'
import sys, redis
try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1, socket_timeout=1).ping()
except redis.RedisError:
    sys.exit(1)
PY
}

if answers; then echo "Redis answers at $REDIS_URL"; exit 0; fi

read -r host port < <(.venv/bin/python -c 'import sys; from urllib.parse import urlsplit; u = urlsplit(sys.argv[1]); print(u.hostname or "", u.port or 6379)' "$REDIS_URL")
case "$host" in
  localhost|127.0.0.1|::1) ;;
  *) echo "Redis at $REDIS_URL does not answer, and it is not on this machine: start it there or set REDIS_URL." >&2; exit 1 ;;
esac

if ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's redis-server…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
  else
    echo "No Redis answers at $REDIS_URL and redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL." >&2
    exit 1
  fi
fi

mkdir -p "$DATA_DIR/redis"
redis-server --bind 127.0.0.1 --port "$port" --dir "$DATA_DIR/redis" --daemonize yes \
  --pidfile "$DATA_DIR/redis/redis.pid" --logfile "$DATA_DIR/redis/redis.log" --save "" --appendonly no
for _ in $(seq 50); do answers && { echo "Started a private redis-server on 127.0.0.1:$port (data in $DATA_DIR/redis)"; exit 0; }; sleep 0.1; done
echo "redis-server did not start; see $DATA_DIR/redis/redis.log" >&2
exit 1
