#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run the whole suite (what CI
# runs). Set-up: an active venv/conda env as it is, otherwise the project's .venv, torch==2.13.0
# (CPU build) unless a torch is installed; see scripts/_env.sh. Extra arguments go to pytest
# (e.g. `bash scripts/test.sh -x tests/analyzer`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
gptscope_setup train,dev
# A real browser for the end-to-end dashboard test (Debian's chromium, never a download). Without
# it that test fails: only absent hardware (a GPU) may skip a test (tests/conftest.py).
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null; then
    echo "setup: installing chromium with apt-get (for the browser test)..."
    if [ "${GPTSCOPE_SETUP_DRY_RUN:-0}" != 1 ]; then
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
      ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium) >/dev/null \
        || echo "setup: warning: could not install chromium; the browser test will fail" >&2
    fi
  else
    echo "setup: warning: no /usr/bin/chromium and no apt-get; the browser test will fail" >&2
  fi
fi
[ "${GPTSCOPE_SETUP_DRY_RUN:-0}" = 1 ] && exit 0
echo "setup: running the tests: $PY -m pytest $*"
status=0
"$PY" -m pytest "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "error: pytest collected no tests (exit status 5)" >&2
fi
exit "$status"
