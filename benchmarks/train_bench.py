"""Training speed: a thin wrapper over `python -m trainer bench` (same options).

    python benchmarks/train_bench.py                        # nanoGPT's CPU recipe (cpu preset)
    python benchmarks/train_bench.py --threads=1 --steps=50
    python benchmarks/train_bench.py --preset=gpt2 --steps=20 --warmup=5    # on a GPU

Prints ms/iter (median, p90, mean), tokens/s, MFU and peak memory; the compile phase is
timed on its own line and left out of the figures. `--json` prints one JSON object.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer import threads  # noqa: E402

# the CPU threading `python -m trainer` would choose, before torch loads (trainer/threads.py)
threads.CHOSEN = threads.plan_for_this_process(["bench", *sys.argv[1:]], os.environ)
os.environ.update(threads.CHOSEN.env)

from trainer.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
