"""Overfitting: the val loss climbs from its best while the train loss keeps falling."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer import orderstats
from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.diagnostics.prepared import Prepared, prepared
from analyzer.findings import Finding
from analyzer.run import Run


def _train_at(prep: Prepared, seg: int, evals: pd.DataFrame) -> np.ndarray:
    """Train loss at each eval: the eval's own train_loss, else the median of the logged
    iteration losses in the second half of the steps since the previous eval (one batch
    alone is too noisy to compare; the whole interval would be the loss of long before when
    the log is dense early: a first eval at 1000 after steps 1-10 logged one by one and then
    every 200 took the warm-up's ~5.7 as the train loss there, not ~3.7); all of them when
    that half logged none."""
    train = evals["train_loss"].to_numpy(dtype=float, copy=True)
    if not np.isnan(train).any():
        return train
    rows = prep.stepped.get(seg, np.empty(0, np.int64))
    steps = prep.step[rows].astype(float)  # in step order: each window is a slice
    loss = prep.column("loss")[rows]
    prev = -np.inf
    for i, step in enumerate(evals["step"].to_numpy(dtype=float)):
        if np.isnan(train[i]):
            a, b = np.searchsorted(steps, [prev, step], "right")
            half = int(np.searchsorted(steps, (step + max(prev, 0)) / 2, "right"))  # a..b
            window = loss[half:b] if half < b else loss[a:b]
            window = window[np.isfinite(window)]
            if len(window):
                train[i] = float(orderstats.median(window))
        prev = step
    return train


def overfitting(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Per segment: the best val loss is followed by at least ``patience`` evals, all above
    it and on average ``min_delta`` above it, while the train loss fell by ``min_delta``; or,
    with too few evals for that, one eval after the best with a larger rise (the single
    rule; also for a log of more evals that ends one eval after its best, with a gap that
    training opened), or a val loss that ends far above the train loss (the gap rule, see
    DiagnosticsConfig.overfit_gap_ratio)."""
    findings = []
    ev_all = run.evals[run.evals["val_loss"].notna() & run.evals["step"].notna()]
    for seg, ev in ev_all.groupby("segment"):
        ev = ev.sort_values("step").drop_duplicates("step", keep="last")
        val = ev["val_loss"].to_numpy(dtype=float)
        if not len(val) or not np.isfinite(val).all():
            continue  # non-finite evals are the NaN diagnostic's business
        train = _train_at(prepared(run, config), int(seg), ev)
        if len(val) == 1:  # one eval: only a gap no eval noise or data shift makes
            found = _one_eval_gap(ev, val, train, int(seg), config)
            findings += [found] if found is not None else []
            continue
        found = _rise(ev, val, train, int(seg), config)
        few = len(val) < config.patience + 2  # too few evals for a rise of `patience` evals
        ends_after_best = int(np.argmin(val)) == len(val) - 2  # its last eval rose
        if found is None and (few or ends_after_best and _gap_grew(val, train, config)):
            # the log ends one eval after its best: the single rule. With many evals the
            # curve has flattened and its last eval may be a noisy uptick, so there the gap
            # must also be big and have grown (train memorised, val got worse)
            found = _rise(ev, val, train, int(seg), config, single=True)
        if found is None and few:
            found = _gap(ev, val, train, int(seg), config)
        if found is not None:
            findings.append(found)
    return findings


def _gap_grew(val: np.ndarray, train: np.ndarray, config: DiagnosticsConfig) -> bool:
    """The last val loss is ``overfit_gap_ratio`` times the train loss (and 10 min_delta
    above it), from a first eval below ``overfit_gap_start`` times: a gap that training
    opened, not a val set from another distribution."""
    t0, t1 = train[0], train[-1]
    if not (np.isfinite(t0) and np.isfinite(t1) and t0 > 0 and t1 > 0):
        return False
    return bool(val[-1] / t1 >= config.overfit_gap_ratio
                and val[0] / t0 < config.overfit_gap_start
                and val[-1] - t1 >= 10 * config.min_delta)


def _rise(ev: pd.DataFrame, val: np.ndarray, train: np.ndarray, seg: int,
          config: DiagnosticsConfig, single: bool = False) -> Finding | None:
    """The val loss rose from its best for ``patience`` evals while the train loss fell
    (``single``: too few evals for that; one eval after the best, with a larger rise)."""
    best = int(np.argmin(val))
    after = len(val) - 1 - best
    if after < (1 if single else max(1, config.patience)):
        return None
    rise = float(np.mean(val[best + 1:]) - val[best])
    fall = train[best] - train[-1]
    rel = config.overfit_single_rel if single else config.overfit_rel
    enough = max(config.min_delta, rel * val[best])
    if not (rise >= enough and np.isfinite(fall) and fall >= config.min_delta):
        return None
    steps = ev["step"].to_numpy(dtype=int)
    gap_best = val[best] - train[best]
    gap_last = val[-1] - train[-1]
    span = steps[-1] - steps[best]
    growth = (gap_last - gap_best) / span * 1000 if span else float("nan")
    return Finding(
        code="overfitting", severity="warning", segment=seg,
        steps=(int(steps[best]), int(steps[-1])),
        message=(f"The model is overfitting: val loss was best at step {steps[best]} "
                 f"({val[best]:.4f}) and stayed above it for {after} eval{'s' * (after != 1)}, to "
                 f"{val[-1]:.4f}, "
                 f"while train loss kept falling ({train[best]:.4f} -> {train[-1]:.4f})."),
        evidence={"best_step": int(steps[best]), "best_val_loss": float(val[best]),
                  "last_step": int(steps[-1]), "last_val_loss": float(val[-1]),
                  "val_rise": float(val[-1] - val[best]), "mean_val_rise": rise,
                  "train_fall": float(fall), "evals_since_best": after,
                  "gap_at_best": float(gap_best), "gap_last": float(gap_last),
                  "gap_growth_per_1k_steps": float(growth)},
        suggestion=(f"Keep the checkpoint from step {steps[best]} (nanoGPT's "
                    "always_save_checkpoint=False does this); stop earlier, or add data, "
                    "dropout or weight decay, or use a smaller model."))


def _one_eval_gap(ev: pd.DataFrame, val: np.ndarray, train: np.ndarray, seg: int,
                  config: DiagnosticsConfig) -> Finding | None:
    """A log with one eval, after training began, whose val loss is
    ``overfit_one_eval_ratio`` times the train loss: memorised training data (a tail of a
    run whose last eval reads val 5.91 against train 0.72)."""
    step, v, t = int(ev["step"].iloc[0]), float(val[0]), float(train[0])
    if not (step > 0 and np.isfinite(t) and t > 0 and v / t >= config.overfit_one_eval_ratio
            and v - t >= 10 * config.min_delta):
        return None
    return Finding(
        code="overfitting", severity="warning", segment=seg, steps=(step, step),
        message=(f"The model is overfitting: at step {step} the val loss ({v:.4f}) is "
                 f"{v / t:.1f}x the train loss ({t:.4f}): it memorises the training data "
                 "(one eval only, so where the val loss was best is not known)."),
        evidence={"last_step": step, "last_val_loss": v, "last_train_loss": t,
                  "val_train_ratio": v / t, "evals": 1},
        suggestion=("Evaluate more often to find the best step and keep its checkpoint; stop "
                    "earlier, or add data, dropout or weight decay, or use a smaller model."))


def _gap(ev: pd.DataFrame, val: np.ndarray, train: np.ndarray, seg: int,
         config: DiagnosticsConfig) -> Finding | None:
    """Too few evals to see the val loss rise, but it ends far above the train loss, with a
    gap that grew since the first eval: the model memorised its training data."""
    if not _gap_grew(val, train, config):
        return None
    t0, t1 = train[0], train[-1]
    ratio, start = val[-1] / t1, val[0] / t0
    steps = ev["step"].to_numpy(dtype=int)
    return Finding(
        code="overfitting", severity="warning", segment=seg,
        steps=(int(steps[-1]), int(steps[-1])),
        message=(f"The model is overfitting: at step {steps[-1]} the val loss ({val[-1]:.4f}) "
                 f"is {ratio:.1f}x the train loss ({t1:.4f}), against {start:.2f}x at step "
                 f"{steps[0]}: it memorises the training data (too few evals to see where "
                 "the val loss was best)."),
        evidence={"last_step": int(steps[-1]), "last_val_loss": float(val[-1]),
                  "last_train_loss": float(t1), "val_train_ratio": float(ratio),
                  "first_ratio": float(start), "evals": len(val)},
        suggestion=("Evaluate more often to find the best step and keep its checkpoint; stop "
                    "earlier, or add data, dropout or weight decay, or use a smaller model."))
