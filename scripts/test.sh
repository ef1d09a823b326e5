#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run the whole suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -x tests/analyzer`).
set -euo pipefail
cd "$(dirname "$0")/.."
# The CPU build of torch (a CUDA torch already installed is kept as it is).
python -c "import torch" 2>/dev/null || python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[train,dev]"
# A real browser for the end-to-end dashboard test (Debian's chromium, never a download).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium) >/dev/null \
    || echo "warning: could not install chromium; browser tests will be skipped" >&2
fi
python -m pytest "$@"
