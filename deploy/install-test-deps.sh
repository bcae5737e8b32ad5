#!/usr/bin/env bash
# What `make deploy-test` needs beyond `make test`'s packages: debootstrap, to build the offline
# base image (Debian bookworm with python3) that stands in for python:3.11-slim-bookworm.
set -euo pipefail
bash "$(dirname "$0")/../scripts/install-test-deps.sh"
if command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "make deploy-test needs Debian's debootstrap (as root: apt-get install debootstrap)." >&2
  exit 1
fi
echo "Installing debootstrap…"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
