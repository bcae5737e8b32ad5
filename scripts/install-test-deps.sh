#!/usr/bin/env bash
# What the test suite needs from Debian: a Docker engine, Distribution 2.8.2 (the second test
# registry; the primary one is the v3.1.1 binary from REGISTRY_V3_BINARY), busybox for the
# registry images' shell and applets, Redis, PostgreSQL (the database tests' second run) and
# Chromium for the browser tests.
set -euo pipefail
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
# The static build: it is copied into the registry images, which have no libc of their own.
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
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
