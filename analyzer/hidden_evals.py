"""Iterations that hold an eval although no eval line marks them.

A pasted log often leaves lines out (``... 30min later``), and nanoGPT's ``step N:`` eval
line may be among them while the slow ``iter N:`` line after it remains: its time is the
eval's, not a stall. nanoGPT's loop says where the evals were:

- a checkpoint is saved only right after an eval, before the next iteration's line, so the
  first iteration logged after a ``saving checkpoint`` line holds an eval, whatever step the
  parser could give the checkpoint (the last eval it saw, perhaps long before);
- evals run at every multiple of ``eval_interval``: an iteration much slower than the
  segment's median (``SLOW``) at a multiple of the run's interval holds one. The interval is
  the config's ``eval_interval`` when printed (else the one the format's trainer hard-codes,
  FORMAT_INTERVAL), else the greatest common divisor of the steps
  known to hold evals together with that iteration's step; such an inferred interval must be
  coarser than the logging and predict only slow or known-eval iterations (a random slow
  step gives an interval that also predicts fast ones: the timing diagnostics report it).

Only rows timed by ``dt_ms`` (from one iteration to the next) can hold an eval, as in
stats._eval_inclusive. Pure functions of a Run and numpy arrays, no printing.
"""
from __future__ import annotations

from math import gcd

import numpy as np

from analyzer import orderstats
from analyzer.run import Run

Parts = list[tuple[int, "slice | np.ndarray"]]
"""Each segment with its rows in file order: a slice when segments come one after another,
else row indices (stats._segment_rows, which the row masks already compute)."""

SLOW = 3.0
"""An iteration this many times the median dt of its segment is slow enough to hold an eval
(DiagnosticsConfig.spike_ratio's default, the ratio at which a row nothing explains would be
reported as a timing spike; nanoGPT's cheapest default eval, eval_iters=200 against 40
micro-steps of gradient accumulation, is ~3.3 steps)."""


def after_checkpoints(run: Run, parts: Parts, step: np.ndarray, timed: np.ndarray
                      ) -> np.ndarray:
    """Per row: the first timed iteration of its segment logged after a checkpoint whose step
    is older than the iteration logged before it (its eval line was left out, so the parser
    gave it the last eval's step). A checkpoint at its own step needs no help: the eval and
    checkpoint keys mark that row (stats._eval_inclusive). ``parts``: see Parts."""
    out = np.zeros(len(step), bool)
    ck = run.checkpoints
    if not len(ck) or not len(step):
        return out
    time = run.iters["time"].to_numpy(dtype=float)
    ck_seg = ck["segment"].to_numpy(dtype="int64")
    ck_step = ck["step"].to_numpy(dtype=float, na_value=np.nan)
    ck_time = ck["time"].to_numpy(dtype=float)
    for seg, rows in parts:
        mine = (ck_seg == seg) & np.isfinite(ck_time)
        if not mine.any():
            continue
        t = time[rows]
        if (t[1:] >= t[:-1]).all():
            order = None  # the usual log: rows in time order
        else:  # NaN times or rows out of order: sort them
            order = np.argsort(np.where(np.isnan(t), -np.inf, t), kind="stable")
            t = t[order]
        pos = np.searchsorted(t, ck_time[mine], "right")  # the first row after each
        ok = (pos > 0) & (pos < len(t))
        at = _rows_at(rows, pos[ok] if order is None else order[pos[ok]])
        before = _rows_at(rows, pos[ok] - 1 if order is None else order[pos[ok] - 1])
        after = at[~(step[before] <= ck_step[mine][ok])]  # a NaN step is stale too
        out[after] = timed[after]
    return out


def at_interval(run: Run, parts: Parts, step: np.ndarray, dt: np.ndarray,
                marked: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per row: a slow iteration at a multiple of its segment's eval interval (see the module
    docstring). ``marked``: rows already known to hold an eval; ``first``: each segment's
    first row (its dt holds start-up, not an eval); ``parts``: see Parts."""
    out = np.zeros(len(step), bool)
    config = eval_interval(run)
    if not len(step) or (config is None and not len(run.evals) and not marked.any()):
        return out  # no eval known anywhere: no interval to find
    for seg, rows in parts:
        d, st, mk = dt[rows], step[rows], marked[rows]
        with np.errstate(invalid="ignore"):
            usable = np.isfinite(st) & (d > 0) & ~first[rows]
        k = max(1, len(d) // 4096)
        sample = d[::k][(usable & ~mk)[::k]]
        if not len(sample):
            continue
        # a 3x threshold needs no exact median: that of up to ~4k evenly spaced rows
        with np.errstate(invalid="ignore"):
            slow = usable & (d >= SLOW * orderstats.median(sample))
        cand = np.flatnonzero(slow & ~mk)
        if not len(cand):
            continue
        on = np.flatnonzero(usable)
        steps = st[on].astype(np.int64)
        known = _known_steps(run, seg, steps[mk[on]])
        hits = _on_interval(steps, (slow | mk)[on], st[cand].astype(np.int64), known, config)
        out[_rows_at(rows, cand[hits])] = True
    return out


def _rows_at(rows: slice | np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Row indices of these positions within a segment's rows (a slice or row indices)."""
    return rows.start + positions if isinstance(rows, slice) else rows[positions]


# the eval interval a format's trainer hard-codes: build-nanogpt's loop evaluates (val loss,
# HellaSwag, samples) at every 250th step, and its log may show only the step lines
FORMAT_INTERVAL = {"buildnanogpt": 250}


def eval_interval(run: Run) -> int | None:
    """The run's eval interval: the config's ``eval_interval`` when printed, else the one the
    format's trainer hard-codes (FORMAT_INTERVAL), else None."""
    value = (run.meta.get("config") or {}).get("eval_interval")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1 \
            or int(value) != value:
        return FORMAT_INTERVAL.get(run.format or "")
    return int(value)


def _known_steps(run: Run, seg: int, marked_steps: np.ndarray) -> list[int]:
    """Positive steps of this segment known to hold an eval: its eval lines and marked rows."""
    ev = run.evals
    ev_steps = ev.loc[ev["segment"] == seg, "step"].dropna().to_numpy(dtype=float)
    steps = np.concatenate([ev_steps[np.isfinite(ev_steps)].astype(np.int64), marked_steps])
    return sorted({int(s) for s in steps if s > 0})


def _on_interval(steps: np.ndarray, slow_or_known: np.ndarray, cand: np.ndarray,
                 known: list[int], config: int | None) -> np.ndarray:
    """Per candidate step: at a multiple of the config's interval (when the known evals agree
    with it), or of an interval inferred from the known evals that predicts only slow or
    known-eval rows and is coarser than the logging."""
    if config is not None and all(k % config == 0 for k in known):
        return cand % config == 0
    if not known:
        return np.zeros(len(cand), bool)  # one slow step alone suggests no interval
    base = int(np.gcd.reduce(np.asarray(known, dtype=np.int64)))
    logging = int(np.gcd.reduce(steps)) if len(steps) else 0  # the log prints every N steps
    verdict: dict[int, bool] = {}  # an interval divides `base`: few distinct ones to check
    hits = np.zeros(len(cand), bool)
    for i, c in enumerate(cand):
        interval = gcd(base, int(c))
        if interval not in verdict:
            on = steps % interval == 0
            verdict[interval] = interval > logging and bool(slow_or_known[on].all())
        hits[i] = verdict[interval]
    return hits
