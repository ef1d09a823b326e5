"""How far apart are two runs of the CI model? Prints the figures quoted in docs/ci-check.md.

    python -m tests.ci.determinism

Trains the CI model twice as CI does, then with the things that usually differ between
machines changed one at a time, and prints each run's largest difference from the first:
train loss per step, and eval losses.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tests.ci import train

UNPINNED = {"ATEN_CPU_CAPABILITY": "", "MKL_CBWR": "AUTO", "ONEDNN_MAX_CPU_ISA": "ALL"}
VARIANTS: dict[str, dict] = {
    "rerun": {},
    "2 threads": {"args": ["--threads=2"]},
    "this CPU's best kernels (no AVX2 pin)": {"env": UNPINNED},
    "generic kernels (no SIMD, MKL compatible)": {
        "env": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}},
}


def read(run: Path) -> tuple[dict[int, float], list[float]]:
    with open(run / "events.jsonl", encoding="utf-8") as f:
        events = [json.loads(line) for line in f]
    train_loss = {e["step"]: e["loss"] for e in events if e["type"] == "iter"}
    evals = [x for e in events if e["type"] == "eval" for x in (e["train_loss"], e["val_loss"])]
    return train_loss, evals


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        names = ["first", *VARIANTS]
        specs = {"first": {}, **VARIANTS}
        for i in range(0, len(names), 2):          # two at a time: one per core
            procs = [train.start(tmp, f"r{j}", *specs[names[j]].get("args", []),
                                 env=specs[names[j]].get("env"))
                     for j in range(i, min(i + 2, len(names)))]
            for p in procs:
                train.finish(p)
        runs = {name: read(Path(tmp) / f"r{j}") for j, name in enumerate(names)}
    (loss0, eval0) = runs["first"]
    print(f"{'run vs the first':44s} {'identical':>9s} {'train max abs':>14s} "
          f"{'train max rel':>14s} {'eval max abs':>13s}")
    for name in VARIANTS:
        loss, evals = runs[name]
        diffs = [abs(loss[s] - loss0[s]) for s in loss0]
        rels = [d / abs(loss0[s]) for d, s in zip(diffs, loss0)]
        ev = max(abs(a - b) for a, b in zip(evals, eval0))
        same = loss == loss0 and evals == eval0
        print(f"{name:44s} {str(same):>9s} {max(diffs):14.3g} {max(rels):14.3g} {ev:13.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
