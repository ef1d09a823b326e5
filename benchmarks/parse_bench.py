"""Benchmark: a 1,000,000-line nanoGPT stdout log into a Run, against reading its lines.

    python benchmarks/parse_bench.py [--lines 1000000] [--repeat 5] [--stream] [--keep PATH]

Generates a realistic train.py log in a temporary directory (config echo and header,
log_interval=1, an eval + checkpoint every 2000 iterations, ``mfu -100.00%`` for the first 5
iterations), then times each case in a fresh process (best of --repeat runs after one
warm-up read, so the file is in the page cache) and reports its peak memory: the peak
resident set (VmHWM) above the same process just before, so it counts Arrow's and numpy's
memory too.

- ``readlines``: ``open(path).readlines()``, the floor any line-based reader pays;
- ``for line in f``: iterating the file's lines without keeping them;
- ``naive regex``: a per-line ``re.match`` + float() loop into lists (a simple parser);
- ``parse (fast)``: ``nanogpt.read_bulk`` on the file's bytes -> Run (what
  ``analyzer.load`` does for this format, minus detection);
- ``parse (stream)``: ``nanogpt.Parser.feed`` on every line + ``Run.from_events``, the
  general path a follower uses (with --stream only: it is slow by design).

Wall time is what a user waits; CPU time (all threads) is printed too, because on a busy
machine it is the steadier figure. Prints numbers only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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
    """Write a nanoGPT log of n_lines lines; returns the number of lines."""
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
    path.write_text("\n".join(lines[:n_lines]) + "\n")
    return min(len(lines), n_lines)


# ------------------------------------------------------------------ one case, in a child
def _cases(path: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from analyzer.parsers import nanogpt
    from analyzer.parsers._text import decode_lines
    from analyzer.run import Run, RunBuilder

    pattern = re.compile(r"iter (\d+): loss ([\d.]+), time ([\d.]+)ms, mfu (-?[\d.]+)%")

    def naive() -> int:
        rows = []
        with open(path) as f:
            for line in f:
                m = pattern.match(line)
                if m:
                    rows.append((int(m[1]), float(m[2]), float(m[3]), float(m[4])))
        return len(rows)

    def fast() -> Run:
        builder = RunBuilder(nanogpt.NAME)
        applied = nanogpt.read_bulk(builder, path.read_bytes(), run_id="log")
        assert applied is not None, "the vectorised reader did not apply"
        return builder.run()

    def stream() -> Run:
        parser = nanogpt.Parser()
        events = parser.feed(decode_lines(path.read_bytes()), 1) + parser.finish()
        return Run.from_events(events, format="nanogpt", stats=parser.stats)

    return {"readlines": lambda: open(path).readlines(),
            "for line in f": lambda: sum(1 for _ in open(path)),
            "naive regex": naive, "parse (fast)": fast, "parse (stream)": stream}


def _hwm_mib() -> float:
    """Peak resident set of this process so far (Linux VmHWM), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(case: str, path: Path, repeat: int) -> None:
    fn = _cases(path)[case]
    path.read_bytes()  # warm the page cache
    before = _hwm_mib()
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        del result
    print(json.dumps({"best_s": min(times), "cpu_s": min(cpu), "peak_mib": _hwm_mib() - before}))


def measure(case: str, path: Path, repeat: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", case, "--path", str(path),
                          "--repeat", str(repeat)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--stream", action="store_true", help="also time the per-line parser")
    ap.add_argument("--keep", type=Path, help="write the generated log here and keep it")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.path, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "train.log"
        n = generate(path, args.lines)
        print(f"generated {n:,} lines, {path.stat().st_size / 2**20:.1f} MiB: {path}")
        cases = ["readlines", "for line in f", "naive regex", "parse (fast)"]
        cases += ["parse (stream)"] if args.stream else []
        res = {}
        for case in cases:
            slow = case in ("naive regex", "parse (stream)")
            res[case] = r = measure(case, path, 1 if slow else args.repeat)
            print(f"{case:16s} {r['best_s'] * 1000:8.1f} ms  {n / r['best_s'] / 1e6:6.2f} M "
                  f"lines/s  (cpu {r['cpu_s'] * 1000:7.1f} ms)  peak +{r['peak_mib']:6.1f} MiB")
        fast = res["parse (fast)"]["best_s"]
        print(f"parse (fast) = {fast / res['readlines']['best_s']:.2f}x readlines, "
              f"{fast / res['for line in f']['best_s']:.2f}x for-line; naive regex = "
              f"{res['naive regex']['best_s'] / fast:.1f}x parse (fast)")


if __name__ == "__main__":
    main()
