#!/usr/bin/env bash
# The main job on a fresh machine: install, then train on the embedded default dataset while
# the live dashboard follows the run. Extra arguments go to the trainer (--max_iters=500 ...).
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import torch" 2>/dev/null || python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[train]"
exec python -m app.launch "$@"
