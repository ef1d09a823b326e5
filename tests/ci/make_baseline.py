"""Regenerate tests/ci/baseline.json from a fresh run of the CI model.

    python -m tests.ci.make_baseline              # writes tests/ci/baseline.json
    python -m tests.ci.make_baseline -o FILE
    python -m tests.ci.make_baseline --seeds 3    # writes tests/ci/baseline_seeds.json

Do it when a change to the trainer is *meant* to change training (a new default, a fix), and
let the pull-request diff show what moved: the file holds one line per step.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.ci import train

BASELINE = Path(__file__).resolve().with_name("baseline.json")
SEED_BASELINE = Path(__file__).resolve().with_name("baseline_seeds.json")
FIRST_SEED = 1337      # CI_CONFIG's seed; the seed band adds the next ones
DESCRIPTION = ("the project's CI model: tests/ci/train.py CI_CONFIG, 200 steps on CPU; "
               "regenerate with `python -m tests.ci.make_baseline`")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.ci.make_baseline",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default=None,
                        help=f"baseline file to write (default: {BASELINE}, or "
                             f"{SEED_BASELINE} with --seeds)")
    parser.add_argument("--seeds", type=int, default=1,
                        help=f"train this many seeds ({FIRST_SEED}, {FIRST_SEED + 1}, ...) "
                             "and write a seed-band baseline (default 1: one run)")
    args = parser.parse_args(argv)
    if args.seeds > 1:
        return seed_baseline(args.seeds, args.output or str(SEED_BASELINE))
    args.output = args.output or str(BASELINE)
    from analyzer.golden import dumps_baseline, make_baseline
    from analyzer.loader import load
    with tempfile.TemporaryDirectory() as tmp:
        train.finish(train.start(tmp, "golden"))
        baseline = make_baseline(load(Path(tmp) / "golden"), description=DESCRIPTION)
    Path(args.output).write_text(dumps_baseline(baseline), encoding="utf-8")
    tl = baseline["train_loss"]
    print(f"wrote {args.output}: train loss at {len(tl['values'])} steps, "
          f"{len(baseline['evals'])} evals, final val loss "
          f"{baseline['final_val_loss']['value']:.4f}")
    return 0


def seed_baseline(n: int, output: str) -> int:
    """Train n seeds of the CI model at once (one thread each) and write their band."""
    from analyzer.golden import dumps_baseline
    from analyzer.golden_stats import make_seed_baseline
    from analyzer.loader import load
    seeds = [FIRST_SEED + i for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        procs = [train.start(tmp, f"seed{s}", f"--seed={s}") for s in seeds]
        for proc in procs:
            train.finish(proc)
        baseline = make_seed_baseline([load(Path(tmp) / f"seed{s}") for s in seeds],
                                      description=SEED_DESCRIPTION.format(n=n))
    Path(output).write_text(dumps_baseline(baseline), encoding="utf-8")
    st = baseline["seeds"]
    print(f"wrote {output}: {n} seeds, final val loss {st['final']['val_loss']}, "
          f"tolerances {st['rtol']}")
    return 0


SEED_DESCRIPTION = ("the project's CI model, {n} seeds from 1337: tests/ci/train.py CI_CONFIG, "
                    "200 steps on CPU; regenerate with "
                    "`python -m tests.ci.make_baseline --seeds {n}`")


if __name__ == "__main__":
    sys.exit(main())
