#!/usr/bin/env bash
# The main job on a fresh machine: set up (an active venv/conda env as it is, otherwise the
# project's .venv; see scripts/_env.sh), then train on the embedded default dataset while the
# live dashboard follows the run. Extra arguments go to the trainer (--max_iters=500 ...).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
gptscope_setup train
[ "${GPTSCOPE_SETUP_DRY_RUN:-0}" = 1 ] && exit 0
exec "$PY" -m app.launch "$@"
