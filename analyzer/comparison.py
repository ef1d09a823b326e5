"""Two runs side by side: their summaries, and their losses at the steps both logged."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analyzer.run import Run
from analyzer.stats import summarize


def _smoothed_loss(run: Run) -> pd.Series:
    """Train loss by step (last segment wins on repeated steps), centred rolling median."""
    it = run.iters[np.isfinite(run.iters["loss"].to_numpy(dtype=float))
                   & run.iters["step"].notna()]
    s = it.drop_duplicates("step", keep="last").set_index("step")["loss"].sort_index()
    w = max(1, min(len(s) // 50, 101))
    return s.rolling(w, center=True, min_periods=1).median()


def compare(a: Run, b: Run, warmup_steps: int = 10) -> dict[str, Any]:
    """Two runs side by side: their summaries, and their losses at the steps both logged
    (train loss smoothed, so one noisy batch does not decide). Differences are b - a."""
    sa, sb = summarize(a, warmup_steps), summarize(b, warmup_steps)
    out: dict[str, Any] = {"a": sa, "b": sb}
    la, lb = _smoothed_loss(a), _smoothed_loss(b)
    common = la.index.intersection(lb.index)
    if len(common):
        rel = (lb[common] - la[common]) / la[common].abs()
        out["train_loss"] = {"common_steps": len(common), "first": int(common.min()),
                             "last": int(common.max()),
                             "at_last": [float(la[common.max()]), float(lb[common.max()])],
                             "mean_rel_diff": float(rel.mean())}
    va = a.evals.dropna(subset=["val_loss", "step"]).drop_duplicates("step", keep="last")
    vb = b.evals.dropna(subset=["val_loss", "step"]).drop_duplicates("step", keep="last")
    both = va.merge(vb, on="step", suffixes=("_a", "_b"))
    if len(both):
        diff = both["val_loss_b"] - both["val_loss_a"]
        out["val_loss"] = {"common_evals": len(both), "last": int(both["step"].max()),
                           "at_last": [float(both["val_loss_a"].iloc[-1]),
                                       float(both["val_loss_b"].iloc[-1])],
                           "mean_diff": float(diff.mean())}
    ta, tb = sa["throughput"]["median_step_ms"], sb["throughput"]["median_step_ms"]
    if ta and tb:
        out["speedup"] = ta / tb  # > 1: b is faster per step
    return out
