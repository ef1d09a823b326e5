"""Training throughput benchmark: ``python -m trainer bench`` (benchmarks/train_bench.py).

Builds the same Trainer as ``run`` (same presets and overrides), runs a compile / first-step
phase, ``warmup`` untimed steps, then ``steps`` timed optimizer steps on the training data.
Nothing is written to disk. The compile phase is reported on its own and never enters the
throughput figures.

Timing: on CUDA each step is bracketed by CUDA events (no host-device sync inside the timed
loop; one sync at its end), on CPU by perf_counter. tokens/s and MFU come from the mean step
time (total time / steps); median and p90 show the spread.
"""
from __future__ import annotations

import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch

from trainer import mfu as mfu_mod
from trainer.config import Config
from trainer.loop import Trainer
from trainer.optim import lr_at


@dataclass
class BenchResult:
    """The figures one benchmark measured (times in ms unless the name says otherwise)."""
    device: str
    device_name: str | None
    dtype: str
    compile: bool
    threads: int
    n_params: int
    tokens_per_iter: int
    steps: int
    warmup: int
    compile_s: float
    """Compile (when on) plus the first training step: excluded from every figure below."""
    ms_per_iter_median: float
    ms_per_iter_p90: float
    ms_per_iter_mean: float
    tokens_per_s: float
    mfu: float | None
    peak_flops: float | None
    peak_flops_source: str
    peak_mem_bytes: int
    peak_mem_source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order statistics."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


Progress = Callable[[str], None]


def bench(cfg: Config, steps: int = 30, warmup: int = 5,
          progress: Progress | None = None) -> BenchResult:
    """Measure cfg's training step; torch's thread count is restored afterwards. progress,
    when given, receives a line at each phase and every tenth of the timed steps (a GPT-2
    bench on a CPU runs for minutes)."""
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps must be >= 1 and warmup >= 0, got {steps} and {warmup}")
    threads = torch.get_num_threads()
    if cfg.system.threads > 0:
        torch.set_num_threads(cfg.system.threads)
    try:
        return _bench(cfg, steps, warmup, progress or (lambda line: None))
    finally:
        torch.set_num_threads(threads)


def _bench(cfg: Config, steps: int, warmup: int, progress: Progress) -> BenchResult:
    tr = Trainer(cfg)
    cuda = tr.device.type == "cuda"
    progress(f"bench: {tr.n_params / 1e6:.2f}M parameters on {tr.device}; compile + first "
             f"step{' (torch.compile: may take minutes)' if cfg.system.compile else ''} ...")
    compile_s = tr.warmup()  # compile (if on) and the first step's one-off costs
    progress(f"bench: compile + first step took {compile_s:.1f} s; {warmup} warm-up "
             f"step(s) ...")
    x, y = tr.batches.next()
    for it in range(warmup):
        x, y = tr.train_step(lr_at(it, cfg.optim), x, y)
    tr.step_stats()  # CUDA: wait for the warm-up steps (and check them for NaNs)
    progress(f"bench: timing {steps} step(s) ...")
    every = max(1, steps // 10)
    if cuda:
        torch.cuda.synchronize(tr.device)
        torch.cuda.reset_peak_memory_stats(tr.device)
    marks: list[Any] = []
    t0 = time.perf_counter()
    for i in range(steps):
        marks.append(_mark(cuda))
        x, y = tr.train_step(lr_at(warmup + i, cfg.optim), x, y)
        if (i + 1) % every == 0 and i + 1 < steps:  # on CUDA: steps queued, not finished
            progress(f"bench: {i + 1}/{steps} steps")
    marks.append(_mark(cuda))
    if cuda:
        torch.cuda.synchronize(tr.device)  # the one sync: the timed loop has finished
    total_s = time.perf_counter() - t0
    tr.step_stats()
    step_ms = [_elapsed_ms(a, b) for a, b in zip(marks, marks[1:])]
    mean_s = total_s / steps
    if cuda:
        peak_mem, mem_source = torch.cuda.max_memory_allocated(tr.device), "cuda:max_allocated"
    else:  # Linux reports kilobytes; the whole process's high-water mark, data included
        scale = 1 if sys.platform == "darwin" else 1024
        peak_mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        mem_source = "ru_maxrss"
    return BenchResult(
        device=str(tr.device), device_name=tr.device_name,
        dtype=str(tr.dtype).removeprefix("torch."), compile=cfg.system.compile,
        threads=torch.get_num_threads(), n_params=tr.n_params,
        tokens_per_iter=tr.tokens_per_iter, steps=steps, warmup=warmup, compile_s=compile_s,
        ms_per_iter_median=statistics.median(step_ms), ms_per_iter_p90=percentile(step_ms, 90),
        ms_per_iter_mean=mean_s * 1e3, tokens_per_s=tr.tokens_per_iter / mean_s,
        mfu=mfu_mod.mfu(tr.flops_per_device, mean_s, tr.peak_flops),
        peak_flops=tr.peak_flops, peak_flops_source=tr.peak_source,
        peak_mem_bytes=int(peak_mem), peak_mem_source=mem_source)


def _mark(cuda: bool) -> Any:
    if not cuda:
        return time.perf_counter()
    event = torch.cuda.Event(enable_timing=True)
    event.record()
    return event


def _elapsed_ms(a: Any, b: Any) -> float:
    return a.elapsed_time(b) if isinstance(a, torch.cuda.Event) else (b - a) * 1e3


def format_result(r: BenchResult, label: str = "") -> list[str]:
    """Human-readable lines, one figure per line (what `python -m trainer bench` prints)."""
    mfu = ("n/a (unknown peak)" if r.mfu is None else
           f"{r.mfu * 100:.1f}% of {_flops(r.peak_flops)} ({r.peak_flops_source})")
    return [
        f"bench {label}: {r.device} ({r.device_name}), {r.dtype}, threads {r.threads}, "
        f"compile {'on' if r.compile else 'off'}".replace("bench :", "bench:"),
        f"model: {r.n_params / 1e6:.2f}M parameters, {r.tokens_per_iter:,} tokens/iter",
        f"compile + first step: {r.compile_s:.2f} s (excluded from the figures below)",
        f"ms/iter: median {r.ms_per_iter_median:.2f}, p90 {r.ms_per_iter_p90:.2f}, "
        f"mean {r.ms_per_iter_mean:.2f} ({r.steps} steps after {r.warmup} warm-up)",
        f"tokens/s: {r.tokens_per_s:,.0f}",
        f"MFU: {mfu}",
        f"peak memory: {r.peak_mem_bytes / 2**20:,.1f} MiB ({r.peak_mem_source})",
    ]


def _flops(value: float | None) -> str:
    value = value or 0.0
    return f"{value / 1e12:.1f} TFLOP/s" if value >= 1e12 else f"{value / 1e9:.1f} GFLOP/s"
