"""Benchmark: every diagnostic (``run_all``) on a 1,000,000-iteration nanoGPT run.

    python benchmarks/diagnostics_bench.py [--lines 1000000] [--repeat 5] [--log PATH]

Reads the log once (generated as benchmarks/parse_bench.py does, or ``--log``), then times
on that Run, best of --repeat after one warm-up:

- ``run_all``: all diagnostics, as ``diagnose`` and ``summary`` run them (issue #11's target:
  <= 0.3 s on a quiet 2-core machine);
- ``stats.summarize``: the facts ``summary`` prints (throughput statistics included);
- one line per diagnostic inside one ``sharing()`` scope, as run_all calls them, after the
  shared row masks and throughput statistics ("prepare"): where the time goes;
- the memory run_all allocates at its peak beyond the Run (tracemalloc: numpy and pandas
  buffers included), against the ~120 MB one copy of the 1M x 15 iteration frame takes.

Wall time is what a user waits; CPU time is the steadier figure on a busy machine. Prints
numbers only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzer import stats  # noqa: E402
from analyzer.diagnostics import DIAGNOSTICS, DiagnosticsConfig, run_all  # noqa: E402
from analyzer.diagnostics.prepared import prepared, sharing  # noqa: E402
from analyzer.loader import load  # noqa: E402
from analyzer.run import Run  # noqa: E402
from benchmarks.parse_bench import generate  # noqa: E402


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) of ``repeat`` calls after one warm-up."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def breakdown(run: Run, repeat: int) -> dict[str, float]:
    """Best CPU milliseconds of each step of run_all, shared arrays computed first."""
    config = DiagnosticsConfig()
    times: dict[str, list[float]] = {}

    def clock(name: str, fn: Callable[[], object]) -> None:
        c = time.process_time()
        fn()
        times.setdefault(name, []).append((time.process_time() - c) * 1e3)

    for _ in range(repeat):
        with sharing():
            prep = prepared(run, config)
            clock("prepare (masks, throughput)", lambda: prep.throughput)
            for name, fn in DIAGNOSTICS.items():
                clock(name, lambda fn=fn: fn(run, config))
    return {name: min(v) for name, v in times.items()}


def peak_mib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--log", type=Path, help="a nanoGPT log to use instead of a generated one")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.log
        if path is None:
            path = Path(tmp) / "train.log"
            generate(path, args.lines)
        run = load(path)
    print(f"{path.name if args.log else 'generated log'}: {len(run.iters):,} iterations, "
          f"{len(run.evals):,} evals")
    for name, fn in (("run_all", lambda: run_all(run)),
                     ("stats.summarize", lambda: stats.summarize(run))):
        wall, cpu = best(fn, args.repeat)
        print(f"{name:28s} {wall * 1e3:8.1f} ms wall  {cpu * 1e3:8.1f} ms cpu  "
              f"(best of {args.repeat})")
    print("run_all, step by step (CPU ms, best of each):")
    for name, ms in breakdown(run, args.repeat).items():
        print(f"  {name:28s} {ms:8.1f}")
    print(f"run_all allocates at most {peak_mib(lambda: run_all(run)):.0f} MiB beyond the Run "
          "(tracemalloc)")


if __name__ == "__main__":
    main()
