"""Side by side on this CPU: nanoGPT's train.py and `python -m trainer run`, the README's CPU
recipe (4 layers, 4 heads, 128 wide, block 64, batch 12, dropout 0, float32, no compile),
run alternately, on the quiet machine and beside one busy process, with median ms/iter
(the iterations that hold an eval left out) and our/nanoGPT ratios.

    python3 benchmarks/cpu_vs_nanogpt.py /path/to/nanoGPT [--iters 200] [--rounds 3]
        [--situations quiet,busy] [--variants default,passive,active]

nanoGPT is not part of this project: give a checkout of github.com/karpathy/nanoGPT (its
train.py is run unchanged, from its own folder). Its shakespeare_char data is prepared from
trainer/data/tinyshakespeare.txt the way its data/shakespeare_char/prepare.py does (the same
character vocabulary, the same 90/10 split), without a download. Each run gets the
environment without any OMP_* variable, so each program makes its own threading choice;
the variants `passive` and `active` run ours with OMP_WAIT_POLICY set for comparison. The
busy process is `python3 -c "while True: pass"`, started before and killed after each
measurement. The load average is printed before every run: figures from a machine that other
programs are using are not the programs' speed.
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEXT = ROOT / "trainer" / "data" / "tinyshakespeare.txt"
RECIPE = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.0)
EVAL_ITERS = 20
ITER = re.compile(r"^iter (\d+): loss [-\d.naif]+, time ([\d.]+)ms")
VARIANTS = {"default": {}, "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
            "active": {"OMP_WAIT_POLICY": "ACTIVE"}}


def prepare_nanogpt_data(nanogpt: Path) -> None:
    """data/shakespeare_char/{train,val}.bin and meta.pkl, as nanoGPT's prepare.py makes them."""
    out = nanogpt / "data" / "shakespeare_char"
    if all((out / n).exists() for n in ("train.bin", "val.bin", "meta.pkl")):
        return
    text = TEXT.read_text(encoding="utf-8")
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    n = len(text)
    for name, part in (("train.bin", text[:int(n * 0.9)]), ("val.bin", text[int(n * 0.9):])):
        np.array([stoi[c] for c in part], dtype=np.uint16).tofile(out / name)
    with open(out / "meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}, f)
    print(f"prepared {out} from {TEXT.relative_to(ROOT)} ({n:,} characters, "
          f"vocab {len(chars)})")


def nanogpt_command(iters: int, out_dir: Path) -> list[str]:
    return [sys.executable, "train.py", "config/train_shakespeare_char.py", "--device=cpu",
            "--compile=False", "--dtype=float32", f"--eval_iters={EVAL_ITERS}",
            "--log_interval=1", f"--max_iters={iters}", f"--lr_decay_iters={iters}",
            f"--warmup_iters={min(100, iters // 2)}", f"--eval_interval={iters}",
            f"--out_dir={out_dir}", *[f"--{k}={v}" for k, v in RECIPE.items()]]


def ours_command(iters: int, out_dir: Path) -> list[str]:
    # the cpu preset (our default on a machine without CUDA) is this recipe already
    return [sys.executable, "-m", "trainer", "run", "--preset=cpu", "--device=cpu",
            f"--eval_iters={EVAL_ITERS}", "--log_interval=1", f"--max_iters={iters}",
            f"--lr_decay_iters={iters}", f"--warmup_iters={min(100, iters // 2)}",
            f"--eval_interval={iters}", f"--out_dir={out_dir}",
            *[f"--{k}={v}" for k, v in RECIPE.items()]]


def median_ms(stdout: str, eval_interval: int) -> tuple[float, int]:
    """Median ms/iter over the iterations without an eval at their top (nanoGPT and ours both
    evaluate at iterations that are multiples of eval_interval, iteration 0 included)."""
    times = [float(m[2]) for m in map(ITER.match, stdout.splitlines())
             if m and int(m[1]) % eval_interval]
    return (statistics.median(times) if times else float("nan")), len(times)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_one(who: str, variant: str, iters: int, nanogpt: Path, tmp: Path) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_"))}
    env.update(VARIANTS[variant])
    out_dir = tmp / f"{who}-{variant}-{time.monotonic_ns()}"
    if who == "nanogpt":
        cmd, cwd = nanogpt_command(iters, out_dir), nanogpt
    else:
        cmd, cwd = ours_command(iters, out_dir), tmp
        env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode:
        sys.exit(f"{who} failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    shutil.rmtree(out_dir, ignore_errors=True)
    ms, n = median_ms(proc.stdout, iters)
    threads = next((ln for ln in proc.stdout.splitlines() if ln.startswith("cpu threads:")), "")
    return ms, threads


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("nanogpt", type=Path, help="a checkout of karpathy/nanoGPT")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3, help="alternations of each program")
    ap.add_argument("--situations", default="quiet,busy")
    ap.add_argument("--variants", default="default",
                    help="ours: default, passive (OMP_WAIT_POLICY=PASSIVE), active")
    args = ap.parse_args(argv)
    if not (args.nanogpt / "train.py").exists():
        ap.error(f"{args.nanogpt}: no train.py (give a nanoGPT checkout)")
    prepare_nanogpt_data(args.nanogpt)
    variants = args.variants.split(",")
    print(f"nanoGPT (cwd {args.nanogpt}): {' '.join(nanogpt_command(args.iters, Path('OUT')))}")
    print(f"gptscope (cwd a temp dir, PYTHONPATH={ROOT}): "
          f"{' '.join(ours_command(args.iters, Path('OUT')))}")
    print(f"cpus: {len(os.sched_getaffinity(0))}, torch threads default per program; "
          f"{args.iters} iterations, {args.rounds} rounds")
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            for situation in args.situations.split(","):
                busy = None
                if situation == "busy":
                    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    time.sleep(1.0)
                try:
                    for who, variant in [("nanogpt", "default")] + \
                            [("gptscope", v) for v in variants]:
                        load = load_average()
                        ms, threads = run_one(who, variant, args.iters, args.nanogpt, Path(tmp))
                        results.setdefault((situation, f"{who}/{variant}"), []).append(ms)
                        print(f"round {rnd + 1} {situation:5s} {who}/{variant}: {ms:.1f} ms/iter "
                              f"(load average before: {load}) {threads}", flush=True)
                finally:
                    if busy is not None:
                        busy.kill()
                        busy.wait()
    print("\nmedian over rounds, ms/iter (ratio to nanoGPT in the same situation):")
    for situation in args.situations.split(","):
        base = statistics.median(results[(situation, "nanogpt/default")])
        for key in ["nanogpt/default"] + [f"gptscope/{v}" for v in variants]:
            ms = statistics.median(results[(situation, key)])
            print(f"  {situation:5s} {key:17s} {ms:7.1f}  {ms / base:.2f}x")
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
