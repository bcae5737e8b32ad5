#!/usr/bin/env bash
# What the test suite needs from Debian: a Docker engine, the registry binary that becomes the
# test registry image, busybox for its shell, Redis, and Chromium for the browser tests.
set -euo pipefail
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
[ -x /usr/bin/busybox ] || [ -x /bin/busybox ] || need+=(busybox-static)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these Debian packages: ${need[*]}. Install them (as root: apt-get install ${need[*]})." >&2
  echo "Without them the tests that need a service are skipped (CI=true fails instead)." >&2
  exit 0
fi
echo "Installing ${need[*]}…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
