"""Regenerate tests/ci/baseline.json from a fresh run of the CI model.

    python -m tests.ci.make_baseline              # writes tests/ci/baseline.json
    python -m tests.ci.make_baseline -o FILE

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
DESCRIPTION = ("the project's CI model: tests/ci/train.py CI_CONFIG, 200 steps on CPU; "
               "regenerate with `python -m tests.ci.make_baseline`")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.ci.make_baseline",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default=str(BASELINE),
                        help=f"baseline file to write (default: {BASELINE})")
    args = parser.parse_args(argv)
    from analyzer.golden import dumps_baseline, make_baseline
    from analyzer.load import load
    with tempfile.TemporaryDirectory() as tmp:
        train.finish(train.start(tmp, "golden"))
        baseline = make_baseline(load(Path(tmp) / "golden"), description=DESCRIPTION)
    Path(args.output).write_text(dumps_baseline(baseline), encoding="utf-8")
    tl = baseline["train_loss"]
    print(f"wrote {args.output}: train loss at {len(tl['values'])} steps, "
          f"{len(baseline['evals'])} evals, final val loss "
          f"{baseline['final_val_loss']['value']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
