"""How fast a TensorBoard run loads: ``analyzer.load`` beside the tensorboard package's own
reading (EventAccumulator with every scalar kept), and tbparse where it is installed.

    python benchmarks/tensorboard_bench.py                 # 1,000,000 points per tag
    python benchmarks/tensorboard_bench.py --points 200000 --rounds 3 --no-tbparse

Writes one event file (one record per step holding ``--tags`` scalar tags, as a trainer
logging every step does) into a temporary directory, then times the readers in turn,
alternating them round after round so that a busy machine slows both alike, and prints
each round's seconds side by side and the median ratio. The goal (issue #14): ours within
2x of the library's own reading. Record ``cat /proc/loadavg`` beside the figures.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TAGS = ("train/loss", "train/learning_rate", "train/grad_norm", "train/tokens_per_sec")


def write(logdir: Path, points: int, tags: int) -> Path:
    from analyzer.export import EventWriter
    w = EventWriter(logdir, suffix=".bench")
    t0 = 1.7e9
    for step in range(points):
        w.add(step, t0 + step * 0.1, [(tag, 3.0 - step * 1e-6 + i) for i, tag in
                                      enumerate(TAGS[:tags])])
    w.close()
    return Path(w.path)


def ours(logdir: Path) -> int:
    from analyzer.loader import load
    run = load(logdir)
    return int(run.iters[["loss", "lr", "grad_norm", "tokens_per_s"]].notna().to_numpy().sum())


def accumulator(logdir: Path) -> int:
    from tensorboard.backend.event_processing import event_accumulator
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    return sum(len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"])


def tbparse(logdir: Path) -> int:
    from tbparse import SummaryReader
    return len(SummaryReader(str(logdir)).scalars)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000, help="points per tag")
    ap.add_argument("--tags", type=int, default=2, choices=range(1, len(TAGS) + 1))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-tbparse", action="store_true", help="leave tbparse out")
    args = ap.parse_args(argv)
    readers = {"analyzer.load": ours, "EventAccumulator": accumulator}
    try:
        import tbparse as _  # noqa: F401
        if not args.no_tbparse:
            readers["tbparse"] = tbparse
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path = write(Path(tmp), args.points, args.tags)
        print(f"wrote {args.points:,} steps x {args.tags} tags "
              f"({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s; "
              f"load average {os.getloadavg()[0]:.2f}")
        times: dict[str, list[float]] = {name: [] for name in readers}
        for r in range(args.rounds):
            row = []
            for name, fn in readers.items():
                t = time.perf_counter()
                n = fn(Path(tmp))
                times[name].append(time.perf_counter() - t)
                row.append(f"{name} {times[name][-1]:7.2f} s ({n:,} points)")
            print(f"round {r + 1}: " + " | ".join(row), flush=True)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    base = med["EventAccumulator"]
    print("median: " + " | ".join(f"{name} {m:.2f} s ({m / base:.2f}x)"
                                  for name, m in med.items())
          + f"; load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
