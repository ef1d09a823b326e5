"""Throughput statistics that are not fooled by evals and warm-up.

nanoGPT-style loops measure ``dt`` from one iteration to the next, so an iteration that ran an
eval (or saved a checkpoint) at its top looks 10-1000x slower than the rest, and the first
iterations include ``torch.compile`` and cache warm-up. Averaging over them gives a wrong
throughput and a wrong MFU. Here those iterations are recognised and set aside:

- eval-inclusive: the ``eval_inclusive`` flag, or an eval / checkpoint at the same step of the
  same segment on a row with a ``dt_ms`` (stdout logs have no flag, but the eval line sits at
  the top of that step; one printed after the step's line is not in its time; a ``step_ms``
  alone never includes an eval); and the evals whose
  line a pasted log left out (``hidden_evals``: the first iteration after a checkpoint, a
  slow iteration at a multiple of the eval interval);
- warm-up: the first logged iteration of each segment, and every step before
  ``first_step + warmup_steps`` of a segment that starts the process (from step 0, or a
  resume); a log that starts mid-run (an excerpt, a tail) compiled long before its first
  line, so only that first line is set aside.

Everything else with a positive step time is "steady". The step time is ``step_ms`` (the
training step alone) where the log has it, else nanoGPT's ``dt_ms``. Pure functions of a Run,
no printing.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analyzer import hidden_evals, orderstats
from analyzer.per_run import (best_val_of, final_train_loss, last_loss,  # noqa: F401
                              last_run_segments, only_segments, run_groups, runs_in_file)
from analyzer.run import STDOUT_FORMATS, Run


def _pack(segment: np.ndarray, step: np.ndarray) -> np.ndarray:
    """(segment, step) packed into one int64 per row; a null (NaN) step is -1, never a key."""
    return np.where(np.isnan(step), -1, (segment << 40) + np.nan_to_num(step).astype("int64"))


def _keys(segment: pd.Series, step: pd.Series) -> np.ndarray:
    return _pack(segment.to_numpy(dtype="int64"),
                 step.to_numpy(dtype="float64", na_value=np.nan))


def _isin(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """np.isin(values, keys) for sorted unique ``keys``, without sorting ``values`` (1M rows
    against a few hundred evals): ranges of ``values`` when they are in order (the usual
    log), a binary search per value otherwise."""
    if not len(keys) or not len(values):
        return np.zeros(len(values), bool)
    if (values[1:] >= values[:-1]).all():
        edges = np.zeros(len(values) + 1, np.int64)
        np.add.at(edges, np.searchsorted(values, keys, "left"), 1)
        np.add.at(edges, np.searchsorted(values, keys, "right"), -1)
        return np.cumsum(edges[:-1]) > 0
    pos = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return keys[pos] == values


def _segment_starts(segment: np.ndarray) -> np.ndarray | None:
    """Start row of each segment when the segments come one after another (the usual
    file), else None."""
    if len(segment) and not (segment[1:] >= segment[:-1]).all():
        return None
    if len(segment) and segment[0] == segment[-1]:
        return np.zeros(1, np.int64)  # one segment: nothing to look for
    return np.flatnonzero(np.diff(segment, prepend=segment[:1] - 1))


class _Layout:
    """The segment and step columns of the iterations as numpy arrays, and where each
    segment starts: what every mask asks of them, read once."""

    def __init__(self, iters: pd.DataFrame):
        self.iters = iters
        self.segment = iters["segment"].to_numpy(dtype="int64")
        self.step = iters["step"].to_numpy(dtype="float64", na_value=np.nan)
        self.starts = _segment_starts(self.segment)

    def keys(self) -> np.ndarray:
        """_pack of each row; without the float round trip where no step needs it."""
        col = self.iters["step"]
        ints = col.to_numpy(dtype="int64", na_value=0)
        if len(ints) and -2**53 < ints.min() and ints.max() < 2**53 and not col.hasnans:
            return (self.segment << 40) + ints  # these steps survive a float exactly
        return _pack(self.segment, self.step)


def _first_rows(rows: _Layout) -> np.ndarray:
    out = np.zeros(len(rows.segment), bool)
    out[rows.starts if rows.starts is not None
        else np.unique(rows.segment, return_index=True)[1]] = True
    return out


def _eval_before(frames: list[pd.DataFrame], rows: _Layout, time: np.ndarray,
                 strict: bool) -> np.ndarray:
    """Rows with an eval or checkpoint at their (segment, step) that ran before the row's
    iteration: its time is earlier than the row's (a stdout log's clock had not yet counted
    the step; ``strict``). One printed after its step's line (a fork's eval block under it)
    has that line's time: it ran after the step's timing, which holds none of it. Events
    with wall-clock times count at the same time too. An unknown time counts as before."""
    keys = np.concatenate([_keys(df["segment"], df["step"]) for df in frames])
    when = np.concatenate([df["time"].to_numpy(dtype=float) for df in frames])
    ok = keys >= 0
    keys, when = keys[ok], np.where(np.isnan(when[ok]), -np.inf, when[ok])
    order = np.lexsort((when, keys))  # by key, then time
    uniq, first = np.unique(keys[order], return_index=True)
    earliest = when[order][first]  # each key's earliest eval
    rk = rows.keys()
    hit = _isin(rk, uniq)
    out = np.zeros(len(rk), bool)
    if hit.any():
        at = np.searchsorted(uniq, rk[hit])
        later = earliest[at] >= time[hit] if strict else earliest[at] > time[hit]
        out[hit] = ~later  # (a NaN row time: before)
    return out


def _eval_inclusive(run: Run, rows: _Layout) -> np.ndarray:
    it = run.iters
    flag = it["eval_inclusive"].to_numpy(dtype=bool, copy=True)
    frames = [df for df in (run.evals, run.checkpoints) if len(df)]
    # only a time taken from one iteration to the next (dt_ms) can hold an eval: a step
    # time of the step alone (llm.c, modded, nanochat) never does
    dt = it["dt_ms"].to_numpy(dtype=float)
    timed = ~np.isnan(dt)
    if frames and len(it):
        flag |= _eval_before(frames, rows, it["time"].to_numpy(dtype=float),
                             run.format in STDOUT_FORMATS) & timed
    if len(it) and timed.any():
        # evals whose line the log left out (see hidden_evals)
        parts = [(int(rows.segment[r][0]), r)
                 for r in _segment_rows(rows.segment, rows.starts)]
        flag |= hidden_evals.after_checkpoints(run, parts, rows.step, timed)
        flag |= hidden_evals.at_interval(run, parts, rows.step, dt, flag, _first_rows(rows))
    return flag


def _mid_run(run: Run, warmup_steps: int) -> list[int]:
    """Segments that start mid-run: opened as a run (no resume marker) at a step past the
    warm-up. Nothing compiled or warmed up within what the log shows of them."""
    return [int(sg["segment"]) for sg in run.segments
            if sg.get("kind") == "run_start" and isinstance(sg.get("step"), (int, float))
            and sg["step"] > warmup_steps]


def _warmup(rows: _Layout, first: np.ndarray, warmup_steps: int,
            mid_run: list[int], own_time: np.ndarray | None = None) -> np.ndarray:
    """A mid-run segment's first row is warm-up only when timed since the line before (it
    may hold a process start), not by its own step time (``own_time``: a one-bar log)."""
    if mid_run:
        late = np.isin(rows.segment, mid_run)
        first_late = first & late & (own_time if own_time is not None else False)
        return _warmup(rows, first, warmup_steps, []) & ~late | (first & ~first_late)
    step, starts = rows.step, rows.starts
    if starts is not None and len(starts) == 1:  # one segment: no grouping needed
        first_step = np.nanmin(step) if np.isfinite(step).any() else 0
    elif starts is not None:  # segments one after another: a min per slice
        first_step = np.repeat(np.fmin.reduceat(step, starts), np.diff(starts, append=len(step)))
    else:
        first_step = pd.Series(step).groupby(rows.segment).transform("min").to_numpy()
    return (step < first_step + warmup_steps) | first


def _step_time(iters: pd.DataFrame) -> np.ndarray:
    step_ms, dt_ms = (iters[c].to_numpy(dtype=float) for c in ("step_ms", "dt_ms"))
    t = np.where(np.isnan(step_ms), dt_ms, step_ms)
    with np.errstate(invalid="ignore"):
        return np.where(t > 0, t, np.nan)


class RowMasks:
    """The per-row classification of a run's iterations (see the module docstring) as numpy
    arrays, computed once: diagnostics ask for these many times over."""

    def __init__(self, run: Run, warmup_steps: int):
        it = run.iters
        rows = _Layout(it)
        self.starts = rows.starts
        self.first = _first_rows(rows)
        self.eval_inclusive = _eval_inclusive(run, rows)
        own = it["dt_ms"].isna().to_numpy() & it["step_ms"].notna().to_numpy()
        self.warmup = (_warmup(rows, self.first, warmup_steps, _mid_run(run, warmup_steps), own)
                       if len(it)
                       else np.zeros(0, bool))
        self.step_time = _step_time(it)
        self.eval_spike = self.eval_inclusive & ~self.first
        self.clean = ~self.eval_inclusive & ~self.warmup
        self.steady = ~np.isnan(self.step_time) & self.clean
        self._iters = it

    @cached_property
    def mfu(self) -> np.ndarray:
        """mfu_values of the rows (the throughput statistics and the MFU checks use it)."""
        return mfu_values(self._iters)


def row_masks(run: Run, warmup_steps: int) -> RowMasks:
    """Every per-row mask of this module at once, as numpy arrays."""
    return RowMasks(run, warmup_steps)


def _series(run: Run, values: np.ndarray, name: str) -> pd.Series:
    return pd.Series(values, index=run.iters.index, name=name)


def eval_inclusive(run: Run) -> pd.Series:
    """Per iteration row: does its dt include an eval or a checkpoint save?"""
    return _series(run, _eval_inclusive(run, _Layout(run.iters)), "eval_inclusive")


def warmup(run: Run, warmup_steps: int) -> pd.Series:
    """Per iteration row: is it part of a segment's warm-up (compile, caches)?"""
    if not len(run.iters):
        return pd.Series([], dtype=bool, name="warmup")
    return _series(run, row_masks(run, warmup_steps).warmup, "warmup")


def first_rows(run: Run) -> pd.Series:
    """Per iteration row: the first logged iteration of its segment. Its dt holds process
    start-up, compile and the step-0 eval at once, so it is warm-up, never an eval spike."""
    return _series(run, _first_rows(_Layout(run.iters)), "first")


def eval_spike_rows(run: Run) -> pd.Series:
    """Eval-inclusive rows whose extra time is the eval's (all but a segment's first)."""
    return _series(run, row_masks(run, 0).eval_spike, "eval_spike")


def clean(run: Run, warmup_steps: int) -> pd.Series:
    """Per iteration row: neither eval-inclusive nor warm-up (its MFU and tokens/s count)."""
    return _series(run, row_masks(run, warmup_steps).clean, "clean")


def step_time(iters: pd.DataFrame) -> pd.Series:
    """Milliseconds of each training step: ``step_ms`` where logged (it leaves evals out),
    else ``dt_ms``; null when neither is a positive number."""
    return pd.Series(_step_time(iters), index=iters.index, name="step_time_ms")


def steady(run: Run, warmup_steps: int) -> pd.Series:
    """Per iteration row: a normal training step whose time is a fair throughput sample."""
    return _series(run, row_masks(run, warmup_steps).steady, "steady")


def mfu_series(iters: pd.DataFrame) -> pd.Series:
    """Per-step MFU where measured, else the smoothed one; zero or negative is 'not measured'
    (nanochat prints 0.00 when it does not know the peak, old nanoGPT -100)."""
    return pd.Series(mfu_values(iters), index=iters.index, name="mfu")


def mfu_values(iters: pd.DataFrame) -> np.ndarray:
    """mfu_series as a numpy array."""
    mfu, smoothed = (iters[c].to_numpy(dtype=float) for c in ("mfu", "mfu_smoothed"))
    mfu = np.where(np.isnan(mfu), smoothed, mfu)
    with np.errstate(invalid="ignore"):
        return np.where(mfu > 0, mfu, np.nan)


@dataclass
class ThroughputStats:
    """Steady-state throughput of a run, with what was excluded and why."""
    iters: int                      # logged iterations
    steady_iters: int               # of which steady (the ones the medians use)
    eval_iters: int                 # excluded: dt includes an eval or checkpoint
    warmup_iters: int               # excluded: warm-up (incl. each segment's first iteration)
    median_step_ms: float | None
    p10_step_ms: float | None
    p90_step_ms: float | None
    median_tokens_per_s: float | None
    median_mfu: float | None        # fraction
    wall_s: float | None            # estimated wall time of the logged step range
    eval_overhead_s: float | None   # time eval-inclusive steps took beyond a normal step
    eval_overhead_frac: float | None  # of wall_s
    warmup_overhead_s: float | None
    # 'steps': median_step_ms is the median of the steady steps' times; 'total': no step is
    # timed, and it is the mean of the run's own total (train_runtime less its evals)
    step_ms_basis: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median(x: np.ndarray, own: bool = False) -> float | None:
    """Median of the non-null values (as pandas' Series.median), None when there are none.
    ``own``: x is the caller's scratch copy, which may be reordered."""
    null = np.isnan(x)
    if null.any():
        x, own = x[~null], True
    return float(orderstats.median(x, overwrite=own)) if len(x) else None


def _nansum(x: np.ndarray) -> float:
    """Series.sum(): nulls count as 0, in place (so the pairwise sum rounds as pandas')."""
    null = np.isnan(x)
    return np.where(null, 0.0, x).sum() if null.any() else x.sum()


def _clipped_sum(x: np.ndarray) -> float:
    """Series.clip(lower=0).sum(): negatives count as 0, nulls are skipped."""
    return float(_nansum(np.where(np.isnan(x) | (x >= 0), x, 0.0)))


def _segment_rows(segment: np.ndarray, starts: np.ndarray | None
                  ) -> list[np.ndarray | slice]:
    """Each segment's rows in file order, segments ascending (what groupby iterates)."""
    if starts is not None:
        return [slice(a, b) for a, b in zip(starts, np.append(starts[1:], len(segment)))]
    order = np.argsort(segment, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(segment[order])) + 1)


def _wall_ms(run: Run, own: np.ndarray, med: float, starts: np.ndarray | None) -> float:
    """Wall time of the logged step ranges: what each logged row took, and the steady
    median for each step no row was logged for."""
    it = run.iters
    steps = it["step"].to_numpy(dtype="int64", na_value=0)
    has_step = it["step"].notna().to_numpy()
    segment = it["segment"].to_numpy(dtype="int64")
    # where a segment began when its first data was an eval before its first logged step
    # (modded's 'step:0 val_loss' then 'step:1000 … train_time'): the steps in between ran
    began = {int(sg["segment"]): sg["step"] for sg in run.segments
             if isinstance(sg.get("step"), (int, float))}
    wall_ms = 0.0
    for rows in _segment_rows(segment, starts):
        st = steps[rows][has_step[rows]]
        n_steps = int(st.max() - st.min() + 1) if len(st) else 0
        start = began.get(int(segment[rows][0])) if len(st) else None
        if start is not None and start < st.min() - 1:
            n_steps = int(st.max() - start)
        o = own[rows]
        wall_ms += _nansum(o) + max(0, n_steps - int((~np.isnan(o)).sum())) * med
    return wall_ms


def _first_evals_ms(dt: np.ndarray, rows: np.ndarray, med: float,
                    eval_extra: np.ndarray) -> float:
    """The eval time inside first iterations (``rows``) that ran an eval at their top and
    warmed up too (build-nanogpt's step 0, nanoGPT's iter 0): the log cannot split the two,
    so each gets the median extra time of the run's other evals, never more than its own
    extra time; the rest stays warm-up. Only with two other evals or more: in a short head
    (evals at 0 and 250 of 290 steps) the share says little of the run's."""
    extra = dt[rows] - med
    extra = extra[extra > 0]
    if not len(extra) or len(eval_extra) < 2:
        return 0.0
    typical = float(np.median(np.clip(eval_extra, 0.0, None)))
    return float(np.minimum(extra, typical).sum())


def throughput_stats(run: Run, warmup_steps: int = 10,
                     masks: RowMasks | None = None) -> ThroughputStats:
    """Median step time, tokens/s and MFU over steady iterations, and an estimate of the wall
    time with the share of it spent in evals (``masks``: row_masks(run, warmup_steps) when
    the caller has them already).

    Logs often print every ``log_interval`` steps only; unlogged steps are assumed to take the
    steady median (an eval step is a multiple of the log interval in nanoGPT, so it is seen).
    Eval time is what eval-inclusive ``dt_ms`` exceed a normal step by, or, when no dt holds
    the evals (llm.c, modded-nanogpt), the evals' own ``eval_ms`` if logged.
    """
    it = run.iters
    m = masks if masks is not None else row_masks(run, warmup_steps)
    t, evi = m.step_time, m.eval_spike
    has_t = ~np.isnan(t)
    wu, ok, fair = m.warmup & ~evi, m.steady, m.clean
    if not ok.any() and len(it):
        # a log too short to get past the warm-up steps (or cut to a few lines): its
        # steady steps are all but each segment's first and the eval-inclusive ones
        fair = ~m.eval_inclusive & ~m.first
        ok = has_t & fair
        wu = wu & ~ok
    dt = it["dt_ms"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        dt = np.where(dt > 0, dt, np.nan)
    t_ok = t[ok]  # a copy: the medians may reorder it
    med = _median(t_ok, own=True)
    wall = eval_s = warm_s = None
    if med is not None:
        own = np.where(np.isnan(dt), t, dt)  # what each logged row took on the wall clock
        wall_ms = _wall_ms(run, own, med, m.starts)
        eval_rows = np.flatnonzero(evi & ~np.isnan(dt))
        # a step's own share of its dt (only the few eval rows need it)
        normal = np.where(np.isnan(it["step_ms"].to_numpy(dtype=float)[eval_rows]), med,
                          t[eval_rows])
        eval_ms: float | None = _clipped_sum(dt[eval_rows] - normal)
        if not len(eval_rows):
            logged = run.evals["eval_ms"].dropna()
            eval_ms = float(logged.sum()) if len(logged) else None
            wall_ms += eval_ms or 0.0
        warm_ms = _clipped_sum(own[wu] - med)
        if len(eval_rows):  # a first iteration that ran an eval too: its typical share
            shift = _first_evals_ms(dt, m.eval_inclusive & m.first & wu, med,
                                    dt[eval_rows] - normal)
            eval_ms, warm_ms = eval_ms + shift, warm_ms - shift
        wall, warm_s = wall_ms / 1e3, warm_ms / 1e3
        eval_s = eval_ms / 1e3 if eval_ms is not None else None
    p10, p90 = ((float(q) for q in orderstats.quantiles(t_ok, [0.1, 0.9], overwrite=True))
                if len(t_ok) else (None, None))
    basis = "steps" if med is not None else None
    if med is None and (total := _total_step_ms(run)) is not None:
        med, wall, eval_s = total
        basis = "total"
    return ThroughputStats(
        iters=len(it), steady_iters=int(ok.sum()), eval_iters=int((evi & has_t).sum()),
        warmup_iters=int((wu & has_t).sum()), median_step_ms=med,
        p10_step_ms=p10, p90_step_ms=p90,
        median_tokens_per_s=_median(it["tokens_per_s"].to_numpy(dtype=float)[fair], own=True),
        median_mfu=_median(m.mfu[fair], own=True),
        wall_s=wall, eval_overhead_s=eval_s,
        eval_overhead_frac=(eval_s / wall) if wall and eval_s is not None else None,
        warmup_overhead_s=warm_s, step_ms_basis=basis)


def _total_step_ms(run: Run) -> tuple[float, float, float | None] | None:
    """(ms per step, wall s, eval s) from the trainer's own account of its time, for a log
    that times no step: a Hugging Face Trainer's ``train_runtime`` (a metric) over the
    steps its run_end says it took, less the evals' own times (``eval_runtime``), which
    the runtime includes. None when the log does not say both, or the evals take it all."""
    if run.segments and run.segments[-1].get("end"):
        return None  # an earlier run of the file (per_run.only_segments): Run.end is not its
    if (runs := last_run_segments(run)) and len(runs) < run.n_segments:
        run = only_segments(run, runs)  # the file's last run: the one Run.end is of
    metrics = run.metrics
    runtime = metrics["value"][metrics["name"] == "train_runtime"].dropna()
    steps = (run.end or {}).get("steps")
    if not len(runtime) or not isinstance(steps, int) or steps <= 0:
        return None
    wall = float(runtime.iloc[-1])
    logged = run.evals["eval_ms"].dropna() / 1e3
    if not len(logged):  # a trainer_state.json: the eval_runtime series is a metric
        logged = metrics["value"][metrics["name"] == "eval_runtime"].dropna()
    eval_s = float(logged.sum()) if len(logged) else None
    train_s = wall - (eval_s or 0.0)
    if not (math.isfinite(train_s) and train_s > 0):
        return None
    return train_s * 1e3 / steps, wall, eval_s


def _final_loss(iters: pd.DataFrame) -> float | None:
    """Median of the last 5% (at least 1, at most 50) finite logged losses: one batch's loss
    is noisy, so this smoothed figure stands beside the last logged one."""
    loss = iters["loss"][np.isfinite(iters["loss"].to_numpy(dtype=float))]
    if not len(loss):
        return None
    k = int(min(50, max(1, len(loss) // 20)))
    return float(loss.iloc[-k:].median())


def _by_step(iters: pd.DataFrame) -> pd.DataFrame:
    """The rows in step order (a log's rows almost always are: sorting a million of them
    costs more than the rest of a summary, so only rows out of order are sorted)."""
    step = iters["step"]
    if not step.hasnans:
        values = step.to_numpy(dtype=np.int64)
        if len(values) < 2 or bool((values[1:] >= values[:-1]).all()):
            return iters
    return iters.sort_values("step")


def _extreme(steps: list[pd.Series], fn: str) -> int | None:
    """The ``fn`` ('min' or 'max') of the steps of several tables, nulls left out; None if
    none. (One reduction per table: concatenating a 1M-row column first cost more.)"""
    found = [int(v) for s in steps if len(s) and not pd.isna(v := getattr(s, fn)())]
    return (min(found) if fn == "min" else max(found)) if found else None


def _in_segment(df: pd.DataFrame, seg: Any) -> pd.Series:
    """The steps of ``df``'s rows in segment ``seg`` (segments only go up along the rows:
    when the first and last rows are in it, all are)."""
    col = df["segment"].to_numpy()
    if len(col) and col[0] == seg and col[-1] == seg:
        return df["step"]
    return df["step"][col == seg]


def _last_step(it: pd.DataFrame, ev: pd.DataFrame) -> int | None:
    """Where the run is: the highest step of its last segment (a resume from an earlier
    checkpoint goes back, and the steps it does again replace those done before)."""
    if not len(it) and not len(ev):
        return None
    last = max(it["segment"].max() if len(it) else -1, ev["segment"].max() if len(ev) else -1)
    return _extreme([_in_segment(it, last), _in_segment(ev, last)], "max")


def _first_step(it: pd.DataFrame, ev: pd.DataFrame) -> int | None:
    """Where the run starts: the lowest step of its first segment (a resume that goes back
    below it does steps again, it does not start the run earlier)."""
    first = min(it["segment"].min() if len(it) else np.inf, ev["segment"].min() if len(ev)
                else np.inf)
    return _extreme([_in_segment(it, first), _in_segment(ev, first)], "min")


def summarize(run: Run, warmup_steps: int = 10,
              throughput: ThroughputStats | None = None) -> dict[str, Any]:
    """The facts of a run in one flat-ish dict (the CLI's `summary`, the report's header).
    ``throughput``: throughput_stats(run, warmup_steps) when the caller has it already."""
    runs = last_run_segments(run)
    # final and best values are those of the last run (with its resumes): another run in the
    # same file (a seed loop, a restart from scratch) is never mixed in
    # only the columns read below: a row filter of the whole frame copies every column
    it = run.iters[["segment", "step", "loss"]]
    if runs and not (keep := it["segment"].isin(runs).to_numpy()).all():
        it = it[keep]
    ev = run.evals[run.evals["segment"].isin(runs)] if runs else run.evals
    last_seg = it
    if len(it) and not (last := (it["segment"] == it["segment"].max()).to_numpy()).all():
        last_seg = it[last]
    val = ev[ev["val_loss"].notna()]
    best_val, best_step = best_val_of(val, run, runs)
    # eval lines that print no step (llm.c's stdout) do not widen the printed step range
    printed = ev[:0] if run.stats.eval_steps_inferred and len(it) else ev
    reached = _extreme([it["step"], printed["step"]], "max")
    last_step = _last_step(it, printed)
    end = run.end or {}
    if (end.get("status") == "completed" and isinstance(end.get("step"), int)
            and last_step is not None and end["step"] > last_step):
        last_step = end["step"]  # where the run says it completed (a Trainer's final bar)
    model = run.meta.get("model") or {}
    out: dict[str, Any] = {
        "source": run.source, "format": run.format, "segments": run.n_segments,
        "runs": max(1, sum(1 for sg in run.segments if sg.get("kind") == "run_start")),
        "first_step": _first_step(it, printed),
        "last_step": last_step,
        # the highest step logged, when a resume went back below it (steps after the
        # checkpoint were done again: the run is at last_step, not here)
        "reached_step": reached if reached is not None and reached > last_step else None,
        "iters_logged": len(it), "evals": len(ev), "checkpoints": len(run.checkpoints),
        "final_train_loss": final_train_loss(last_seg, ev[ev["segment"] == ev["segment"].max()]
                                             if len(ev) else ev),
        "final_train_loss_smoothed": _final_loss(_by_step(last_seg)) if len(it) else None,
        "final_val_loss": float(val["val_loss"].iloc[-1]) if len(val) else None,
        "val_unit": run.stats.val_unit or "loss",  # 'bpb': nanochat's bits per byte
        "best_val_loss": best_val, "best_val_step": best_step,
        "n_params": model.get("n_params") or run.meta.get("n_params"),
        "device": run.meta.get("device_name") or run.meta.get("device"),
        "status": (run.end or {}).get("status"),
        "lines": run.stats.lines, "lines_parsed": run.stats.parsed,
        "lines_skipped": run.stats.skipped,
    }
    if out["runs"] > 1:  # the speed of the last run alone, like every figure above
        throughput = throughput_stats(only_segments(run, runs), warmup_steps)
    out["throughput"] = (throughput or throughput_stats(run, warmup_steps)).to_dict()
    out["per_run"] = runs_in_file(run) if out["runs"] > 1 else []
    return out
