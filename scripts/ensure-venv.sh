#!/usr/bin/env bash
# Make .venv (Python 3.11+) and install a requirements file into it when it changed.
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "registry-admin needs Python 3.11 or newer")'
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$req")"
if [ ! -f "$stamp" ] || [ -n "$(find requirements*.txt -newer "$stamp" 2>/dev/null)" ]; then
  .venv/bin/pip install --disable-pip-version-check -q -r "$req"
  touch "$stamp"
fi
