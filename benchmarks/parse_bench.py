"""Benchmark: a 1,000,000-line nanoGPT stdout log into a Run, against reading its lines.

    python benchmarks/parse_bench.py [--lines 1000000] [--keep PATH]

Generates a realistic train.py log in a temporary directory (header with config echo,
log_interval=1, an eval + checkpoint every 2000 iterations, the 5 iterations with
``mfu -100.00%`` after each start), then times, best of --repeat runs:

- ``readlines``: ``open(path).readlines()``, the floor any line-based reader pays;
- ``for line in f``: iterating the file's lines without keeping them;
- ``naive regex``: a per-line ``re.match`` + float() loop (what a simple parser does);
- ``parse (fast)``: ``nanogpt.parse_file_fast(bytes)``, the vectorised reader;
- ``parse (stream)``: ``nanogpt.Parser.feed`` on all lines + ``Run.from_events`` (the
  general path, also used to follow a file), only with --stream (it is slow by design).

Prints lines/s and peak Python memory (tracemalloc) of each. Numbers only, no assertions.
"""
from __future__ import annotations

import argparse
import gc
import random
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzer.parsers import nanogpt  # noqa: E402
from analyzer.parsers._text import decode_lines  # noqa: E402
from analyzer.run import Run  # noqa: E402

HEADER = """Overriding config with config/train_gpt2.py:
# config for training GPT-2 (124M) down to very nice loss of ~2.85 on 1 node of 8X A100 40GB
wandb_log = False
batch_size = 12
block_size = 1024
gradient_accumulation_steps = 5 * 8
max_iters = {max_iters}
lr_decay_iters = {max_iters}
eval_interval = 2000
eval_iters = 200
log_interval = 1
weight_decay = 1e-1
tokens per iteration will be: 491,520
Initializing a new model from scratch
defaulting to vocab_size of GPT-2 to 50304 (50257 rounded up for efficiency)
number of parameters: 123.59M
num decayed parameter tensors: 50, with 124,354,560 parameters
num non-decayed parameter tensors: 25, with 19,200 parameters
using fused AdamW: True
compiling the model... (takes a ~minute)"""


def generate(path: Path, n_lines: int, seed: int = 0) -> int:
    """Write a nanoGPT log of about n_lines lines; returns the number of lines."""
    rng = random.Random(seed)
    lines = HEADER.format(max_iters=n_lines).split("\n")
    running = -1.0
    it = 0
    while len(lines) < n_lines:
        loss = 2.8 + 8.0 * 0.999 ** it + rng.gauss(0, 0.05)
        if it % 2000 == 0:
            lines.append(f"step {it}: train loss {loss:.4f}, val loss {loss + 0.05:.4f}")
            lines.append("saving checkpoint to out")
        dt = (12000.0 if it == 0 else 30000.0 if it % 2000 == 0 else 0.0) + rng.uniform(440, 460)
        if it >= 5:
            mfu = 0.31 * 450.0 / dt
            running = mfu if running == -1.0 else 0.9 * running + 0.1 * mfu
        lines.append(f"iter {it}: loss {loss:.4f}, time {dt:.2f}ms, mfu {running * 100:.2f}%")
        it += 1
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


_NAIVE = re.compile(r"iter (\d+): loss ([\d.]+), time ([\d.]+)ms, mfu (-?[\d.]+)%")


def naive(path: Path) -> int:
    rows = []
    with open(path) as f:
        for line in f:
            m = _NAIVE.match(line)
            if m:
                rows.append((int(m[1]), float(m[2]), float(m[3]), float(m[4])))
    return len(rows)


def stream(path: Path) -> Run:
    parser = nanogpt.Parser()
    events = parser.feed(decode_lines(path.read_bytes()), 1) + parser.finish()
    return Run.from_events(events, format="nanogpt", stats=parser.stats)


def measure(fn, repeat: int) -> tuple[float, float]:
    """Best wall time of `repeat` runs, and the peak traced memory of one run (MiB)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stream", action="store_true", help="also time the per-line parser")
    ap.add_argument("--keep", type=Path, help="write the generated log here and keep it")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "train.log"
        n = generate(path, args.lines)
        size = path.stat().st_size / 2**20
        print(f"generated {n:,} lines, {size:.1f} MiB: {path}")
        cases = {
            "readlines": lambda: open(path).readlines(),
            "for line in f": lambda: sum(1 for _ in open(path)),
            "naive regex": lambda: naive(path),
            "parse (fast)": lambda: nanogpt.parse_file_fast(path.read_bytes()),
        }
        if args.stream:
            cases["parse (stream)"] = lambda: stream(path)
        run = nanogpt.parse_file_fast(path.read_bytes())
        assert run is not None, "the fast path did not apply"
        print(f"run: {len(run.iters):,} iterations, {len(run.evals)} evals, "
              f"{run.n_segments} segment(s), {run.stats.skipped} skipped lines")
        times = {}
        for name, fn in cases.items():
            t, peak = measure(fn, 1 if name in ("naive regex", "parse (stream)") else args.repeat)
            times[name] = t
            print(f"{name:16s} {t * 1000:8.1f} ms  {n / t / 1e6:6.2f} M lines/s  "
                  f"peak {peak:7.1f} MiB")
        fast = times["parse (fast)"]
        print(f"parse (fast) / readlines = {fast / times['readlines']:.2f}x, "
              f"/ for-line = {fast / times['for line in f']:.2f}x, "
              f"naive regex / parse = {times['naive regex'] / fast:.1f}x")


if __name__ == "__main__":
    main()
