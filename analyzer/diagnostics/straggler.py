"""Straggler rank: in a multi-process run one rank is persistently the slowest, and every
other rank waits for it at each gradient all-reduce."""
from __future__ import annotations

import numpy as np

from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.diagnostics.prepared import prepared
from analyzer.findings import Finding
from analyzer.run import Run


def straggler(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Uses the per-rank step-time statistics of iter events (step_ms_min, step_ms_max,
    slowest_rank). Flags the rank that is slowest in at least ``straggler_share`` of the
    iterations when the median slowest/fastest ratio is at least ``straggler_ratio``."""
    it = run.iters
    prep = prepared(run, config)
    lo, hi, rank_ = (prep.column(c) for c in ("step_ms_min", "step_ms_max", "slowest_rank"))
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(prep.masks.clean & (lo > 0) & ~np.isnan(hi) & ~np.isnan(rank_))
    if len(rows) < config.straggler_min_points:
        return []
    df = it.iloc[rows]
    ratio = df["step_ms_max"] / df["step_ms_min"]
    counts = df["slowest_rank"].astype(int).value_counts()
    rank, times = int(counts.index[0]), int(counts.iloc[0])
    share = times / len(df)
    median_ratio = float(ratio.median())
    if share < config.straggler_share or median_ratio < config.straggler_ratio:
        return []
    lost = 1 - float(df["step_ms_min"].median() / df["step_ms_max"].median())
    steps = df["step"].dropna().astype(int)
    return [Finding(
        code="straggler_rank", severity="warning",
        steps=(int(steps.min()), int(steps.max())) if len(steps) else None,
        message=(f"Rank {rank} was the slowest in {share:.0%} of the logged iterations, "
                 f"taking {median_ratio:.2f}x as long as the fastest rank; the other ranks "
                 f"wait for it, so about {lost:.0%} of their time is lost."),
        evidence={"rank": rank, "share_slowest": share, "median_ratio": median_ratio,
                  "median_step_ms_max": float(df["step_ms_max"].median()),
                  "median_step_ms_min": float(df["step_ms_min"].median()),
                  "iterations": len(df), "lost_frac": lost},
        suggestion=(f"Look at the device and host behind rank {rank}: thermal throttling, a "
                    "slower GPU or PCIe link, another process on it, or uneven data loading "
                    "(e.g. one rank reading from a slower disk)."))]
