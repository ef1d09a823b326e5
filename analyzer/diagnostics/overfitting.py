"""Overfitting: the val loss climbs from its best while the train loss keeps falling."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.findings import Finding
from analyzer.run import Run


def _train_at(run: Run, seg: int, evals: pd.DataFrame) -> np.ndarray:
    """Train loss at each eval: the eval's own train_loss, else the median of the logged
    iteration losses since the previous eval (one batch alone is too noisy to compare)."""
    train = evals["train_loss"].to_numpy(dtype=float, copy=True)
    if not np.isnan(train).any():
        return train
    it = run.iters[run.iters["segment"] == seg]
    steps = it["step"].to_numpy(dtype=float)
    loss = it["loss"].to_numpy(dtype=float)
    prev = -np.inf
    for i, step in enumerate(evals["step"].to_numpy(dtype=float)):
        if np.isnan(train[i]):
            window = loss[(steps > prev) & (steps <= step)]
            window = window[np.isfinite(window)]
            if len(window):
                train[i] = float(np.median(window))
        prev = step
    return train


def overfitting(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Per segment: the best val loss is followed by at least ``patience`` evals, the last
    of them ``min_delta`` above the best, while the train loss fell by ``min_delta``."""
    findings = []
    ev_all = run.evals[run.evals["val_loss"].notna() & run.evals["step"].notna()]
    for seg, ev in ev_all.groupby("segment"):
        ev = ev.sort_values("step").drop_duplicates("step", keep="last")
        val = ev["val_loss"].to_numpy(dtype=float)
        if len(val) < config.patience + 1 or not np.isfinite(val).all():
            continue  # non-finite evals are the NaN diagnostic's business
        best = int(np.argmin(val))
        after = len(val) - 1 - best
        if after < config.patience:
            continue
        rise = val[-1] - val[best]
        train = _train_at(run, int(seg), ev)
        fall = train[best] - train[-1]
        if not (rise > config.min_delta and np.isfinite(fall) and fall > config.min_delta):
            continue
        steps = ev["step"].to_numpy(dtype=int)
        gap_best = val[best] - train[best]
        gap_last = val[-1] - train[-1]
        span = steps[-1] - steps[best]
        growth = (gap_last - gap_best) / span * 1000 if span else float("nan")
        findings.append(Finding(
            code="overfitting", severity="warning", segment=int(seg),
            steps=(int(steps[best]), int(steps[-1])),
            message=(f"The model is overfitting: val loss was best at step {steps[best]} "
                     f"({val[best]:.4f}) and has risen for {after} evals to {val[-1]:.4f} "
                     f"while train loss kept falling ({train[best]:.4f} -> {train[-1]:.4f})."),
            evidence={"best_step": int(steps[best]), "best_val_loss": float(val[best]),
                      "last_step": int(steps[-1]), "last_val_loss": float(val[-1]),
                      "val_rise": float(rise), "train_fall": float(fall),
                      "evals_since_best": after, "gap_at_best": float(gap_best),
                      "gap_last": float(gap_last), "gap_growth_per_1k_steps": float(growth)},
            suggestion=(f"Keep the checkpoint from step {steps[best]} (nanoGPT's "
                        "always_save_checkpoint=False does this); stop earlier, or add data, "
                        "dropout or weight decay, or use a smaller model.")))
    return findings
