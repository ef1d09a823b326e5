"""The independent runs of a file (seeds in a loop, a job run twice, launches that crashed):
which segments each is, its short summary, and a Run cut to some of them. A ``run_start``
opens a run; the resumes after it continue it. Pure functions of a Run."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from analyzer.run import Run


def last_loss(iters: pd.DataFrame) -> float | None:
    """The last logged training loss, as the log prints it (None when it is not finite:
    the NaN diagnostic says so): what a reader finds at the end of the log."""
    loss = iters["loss"].to_numpy(dtype=float)
    return float(loss[-1]) if len(loss) and np.isfinite(loss[-1]) else None


def final_train_loss(iters: pd.DataFrame, evals: pd.DataFrame) -> float | None:
    """``last_loss`` of the iterations; for a log of evals only (nanoGPT's eval lines, the
    'Ep 1 (Step 000050): Train loss 0.617, Val loss 0.628' of LLMs-from-scratch) or whose
    iterations log no loss, the train loss of its last eval that prints one."""
    if len(iters) and iters["loss"].notna().any():
        return last_loss(iters)  # (iterations with no loss: an eval line's train loss had it)
    if "train_loss" not in evals:
        return None
    return last_loss(evals[evals["train_loss"].notna()].rename(columns={"train_loss": "loss"}))


# the trainer's own statement of a run's best val, by the evals' unit (nanochat's 'Minimum
# validation bpb', a nanoGPT fork's 'Best model saved … with val loss 1.4881'), and how far
# below the evals' minimum it must be to say more than its rounding (nanochat prints 4 or 6
# decimals)
STATED_BEST = {"bpb": "min_val_bpb", "loss": "min_val_loss"}
STATED_BEST_TOL = 5e-5


def best_val_of(val: pd.DataFrame, run: Run, segments: list[int]
                ) -> tuple[float | None, int | None]:
    """(best val, its step) of these segments: the lowest eval, or the trainer's own stated
    minimum when that is lower (an excerpt without the eval that reached it): no step then,
    the log names none."""
    best = val.loc[val["val_loss"].idxmin()] if len(val) else None
    value = float(best["val_loss"]) if best is not None else None
    step = int(best["step"]) if best is not None and pd.notna(best["step"]) else None
    name = STATED_BEST.get(run.stats.val_unit or "loss")
    m = run.metrics
    if name is None or not len(m):
        return value, step
    m = m[(m["name"] == name) & m["value"].notna()]
    if segments:
        m = m[m["segment"].isin(segments)]
    stated = float(m["value"].iloc[-1]) if len(m) else None
    if stated is not None and (value is None or stated < value - STATED_BEST_TOL):
        return stated, None
    return value, step


def only_segments(run: Run, segments: list[int]) -> Run:
    """The part of ``run`` in these segments (tables filtered, segment list cut)."""
    keep = set(segments)

    def rows(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["segment"].isin(keep)] if "segment" in df else df
    return replace(run, iters=rows(run.iters), evals=rows(run.evals),
                   metrics=rows(run.metrics), checkpoints=rows(run.checkpoints),
                   anomalies=rows(run.anomalies),
                   segments=[sg for sg in run.segments if int(sg["segment"]) in keep])


def run_groups(run: Run) -> list[list[int]]:
    """The file's independent runs, each as its segments: a ``run_start`` opens a run, the
    resumes after it continue it."""
    groups: list[list[int]] = []
    for sg in run.segments:
        if sg.get("kind") == "run_start" or not groups:
            groups.append([])
        groups[-1].append(int(sg["segment"]))
    return groups


def runs_in_file(run: Run) -> list[dict[str, Any]]:
    """One short summary per independent run in the file (seeds in a loop, a job run twice),
    so that best and final values are never mixed across runs."""
    out = []
    for k, segs in enumerate(run_groups(run), start=1):
        it = run.iters[run.iters["segment"].isin(segs)]
        ev = run.evals[run.evals["segment"].isin(segs)]
        val = ev[ev["val_loss"].notna()]
        best_val, best_step = best_val_of(val, run, segs)
        steps = pd.concat([it["step"], ev["step"]]).dropna()
        out.append({
            "run": k, "segments": len(segs), "iters_logged": len(it), "evals": len(ev),
            "first_step": int(steps.min()) if len(steps) else None,
            "last_step": int(steps.max()) if len(steps) else None,
            "final_train_loss": final_train_loss(it, ev),
            "final_val_loss": float(val["val_loss"].iloc[-1]) if len(val) else None,
            "best_val_loss": best_val, "best_val_step": best_step})
    return out


def last_run_segments(run: Run) -> list[int]:
    """The segments of the file's last run: from its last ``run_start`` on (the resumes
    after it continue that run). Empty when the Run lists no segments."""
    segs = run.segments
    starts = [i for i, sg in enumerate(segs) if sg.get("kind") == "run_start"]
    first = starts[-1] if starts else 0
    return [int(sg["segment"]) for sg in segs[first:]]
