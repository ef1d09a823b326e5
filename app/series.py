"""The dashboard's chart series, in one place: which charts exist, and their points.

Pure functions of an analyzer Run (no Streamlit), cached per file version by the views.
Points are long DataFrames, one row per drawn point: ``x``, ``y`` (the line), ``lo``/``hi``
(the light band), ``run``, ``series``, ``segment``, ``step``. Long series are cut to about
1,000 buckets by ``analyzer.series.envelope`` (the median is the line, min/max the band), the
same downsampler and smoothing the HTML report uses.

Iterations whose time includes an eval or a checkpoint (``analyzer.stats.eval_inclusive``,
which also recognises them in stdout logs without a flag) are kept out of the speed series
(time, MFU, tokens/s) and their downsampling, and drawn as markers of their own: otherwise a
bucket of 500 steps holding one eval draws as a solid block and hides a real slow step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from analyzer import stats
from analyzer.series import debiased_ema, envelope, minmax_indices

# buckets per series: ~1 per pixel of a wide chart. Twice as many drew nothing more on
# screen but doubled what the browser decodes and lays out before the first chart shows; a
# step range (a finding's steps, the sidebar's range) is drawn at full resolution
MAX_POINTS = 1000

X_AXES = {"step": "step", "time": "wall time", "tokens": "tokens"}
POINT_COLUMNS = ["x", "y", "lo", "hi", "run", "series", "segment", "step"]
EVAL_MARK = "includes eval/checkpoint"
SMOOTHED = " (smoothed)"


# ---------------------------------------------------------------------------- x axis

def start_time(run: Any) -> float | None:
    t = run.meta.get("time") if run.meta else None
    if t is None:
        times = [df["time"].min() for df in (run.iters, run.evals) if len(df)]
        times = [x for x in times if x == x]
        t = min(times) if times else None
    return None if t is None else float(t)


def x_of(run: Any, df: pd.DataFrame, axis: str) -> np.ndarray | None:
    """The x values of rows of ``run``'s iters/evals frame for an axis; None if unknown.

    'time' is seconds since the run started; 'tokens' is step x tokens per iteration.
    """
    if axis == "step":
        return df["step"].to_numpy(dtype="float64", na_value=np.nan)
    if axis == "time":
        start = start_time(run)
        if start is None:
            return None
        return df["time"].to_numpy(dtype="float64", na_value=np.nan) - start
    if axis == "tokens":
        tpi = run.meta.get("tokens_per_iter") if run.meta else None
        if not tpi:
            return None
        return df["step"].to_numpy(dtype="float64", na_value=np.nan) * float(tpi)
    raise ValueError(f"unknown x axis {axis!r}")


def time_unit(max_seconds: float) -> tuple[str, float]:
    """A readable unit for an elapsed-time axis: (label, seconds per unit)."""
    if max_seconds >= 3 * 3600:
        return "h", 3600.0
    if max_seconds >= 3 * 60:
        return "min", 60.0
    return "s", 1.0


def steps_to_x(run: Any, axis: str, steps: Any) -> np.ndarray | None:
    """Map steps to x values of an axis (interpolating wall time between iterations)."""
    steps = np.asarray(steps, dtype="float64")
    if axis == "step":
        return steps
    if axis == "tokens":
        tpi = run.meta.get("tokens_per_iter") if run.meta else None
        return steps * float(tpi) if tpi else None
    it = run.iters
    if len(it) == 0:
        return None
    xs = x_of(run, it, "time")
    s = it["step"].to_numpy(dtype="float64", na_value=np.nan)
    if xs is None:
        return None
    ok = np.isfinite(xs) & np.isfinite(s)
    if not ok.any():
        return None
    order = np.argsort(s[ok], kind="stable")
    return np.interp(steps, s[ok][order], xs[ok][order])


# ---------------------------------------------------------------------------- columns

def time_ms(iters: pd.DataFrame) -> pd.Series:
    """Milliseconds of each iteration as the wall clock saw it: nanoGPT's ``dt_ms``, else
    the step time that llm.c, nanochat and modded-nanogpt print (``step_ms``)."""
    dt = iters["dt_ms"].where(iters["dt_ms"] > 0)
    return dt.where(dt.notna(), iters["step_ms"].where(iters["step_ms"] > 0))


def _col(name: str, scale: float = 1.0) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: df[name] * scale if scale != 1.0 else df[name]


@dataclass(frozen=True)
class ChartSpec:
    """One chart of the run view: which values, how labelled, how drawn."""
    key: str
    title: str
    y_title: str
    frame: str                                  # 'iters' or 'evals'
    # (series label, values of the frame's rows) per line
    lines: tuple[tuple[str, Callable[[pd.DataFrame], pd.Series]], ...]
    smooth: bool = False            # add TensorBoard-smoothed twins of the lines
    log_ok: bool = True             # follows the log-scale toggle
    split_evals: bool = False       # eval-inclusive iterations: markers, not in the line
    nonfinite_bands: bool = False   # shade steps where the loss was NaN/inf
    y_format: str | None = None     # d3 format of the y axis labels


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("loss", "training loss", "loss", "iters", (("train loss", _col("loss")),),
              smooth=True, nonfinite_bands=True),
    ChartSpec("eval", "eval losses", "loss", "evals",
              (("train", _col("train_loss")), ("val", _col("val_loss")))),
    ChartSpec("dt", "time per iteration", "time (ms)", "iters", (("time", time_ms),),
              split_evals=True),
    ChartSpec("mfu", "model FLOPs utilisation", "MFU (%)", "iters",
              (("MFU", lambda df: stats.mfu_series(df) * 100.0),), log_ok=False,
              split_evals=True),
    ChartSpec("tps", "throughput", "tokens/s", "iters",
              (("tokens/s", _col("tokens_per_s")),), log_ok=False, split_evals=True,
              y_format="~s"),
    ChartSpec("lr", "learning rate", "lr", "iters", (("lr", _col("lr")),), log_ok=False,
              y_format="~e"),
    ChartSpec("grad_norm", "gradient norm", "grad norm", "iters",
              (("grad norm", _col("grad_norm")),)),
)


# ---------------------------------------------------------------------------- points

def segment_slices(segs: np.ndarray) -> list[tuple[int, int, int]]:
    """(segment, start, stop) of each run of equal segment numbers, in row order.

    Segments are contiguous (rows are appended in file order), so slicing costs nothing,
    where a boolean mask per segment would copy every column of a million-row run.
    """
    if len(segs) == 0:
        return []
    cuts = (np.flatnonzero(segs[1:] != segs[:-1]) + 1).tolist()
    starts, stops = [0] + cuts, cuts + [len(segs)]
    return [(int(segs[a]), a, b) for a, b in zip(starts, stops)]


def _frame(x, y, lo, hi, steps, run: str, series: str, segment: int) -> pd.DataFrame:
    return pd.DataFrame({"x": x, "y": y, "lo": lo, "hi": hi, "run": run, "series": series,
                         "segment": segment, "step": steps}, columns=POINT_COLUMNS)


def _line(x, y, steps, run: str, series: str, segment: int, budget: int
          ) -> pd.DataFrame | None:
    """Median line + min/max band of one line's finite points."""
    ok = np.isfinite(y) & np.isfinite(x)
    x, y, steps = x[ok], y[ok], steps[ok]
    if len(y) == 0:
        return None
    env = envelope(y, budget)
    return _frame(x[env.index], env.mid, env.lo, env.hi, steps[env.index], run, series,
                  segment)


def _dots(x, y, steps, run: str, series: str, segment: int, budget: int
          ) -> pd.DataFrame | None:
    """Points drawn one by one (markers): at most ``budget``, the extremes kept."""
    ok = np.isfinite(y) & np.isfinite(x)
    x, y, steps = x[ok], y[ok], steps[ok]
    if len(y) == 0:
        return None
    idx = minmax_indices(y, budget)
    return _frame(x[idx], y[idx], y[idx], y[idx], steps[idx], run, series, segment)


def series_points(run: Any, name: str, frame: str, values: np.ndarray, axis: str,
                  label: str, smooth: float | None = None,
                  step_range: tuple[float, float] | None = None,
                  keep: np.ndarray | None = None, dots: bool = False,
                  max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Chart points of one series of a run (``values`` per row of ``frame``), per segment.

    ``smooth`` adds TensorBoard's debiased EMA of the whole segment (computed before the step
    range is cut, so zooming in does not change the smoothed values); ``keep`` is a row
    mask; ``dots`` draws points rather than a line with a band.
    """
    df: pd.DataFrame = getattr(run, frame)
    empty = pd.DataFrame(columns=POINT_COLUMNS)
    xs = x_of(run, df, axis) if len(df) else None
    if xs is None:
        return empty
    steps = df["step"].to_numpy(dtype="float64", na_value=np.nan)
    slices = segment_slices(df["segment"].to_numpy())
    budget = max(200, max_points // max(1, len(slices)))
    out = []
    for seg, a, b in slices:
        x, y, st = xs[a:b], values[a:b], steps[a:b]
        if keep is not None:
            k = keep[a:b]
            x, y, st = x[k], y[k], st[k]
        sm = debiased_ema(y, smooth) if smooth else None
        if step_range is not None:
            r = (st >= step_range[0]) & (st <= step_range[1])
            x, y, st = x[r], y[r], st[r]
            sm = None if sm is None else sm[r]
        draw = _dots if dots else _line
        out.append(draw(x, y, st, name, label, seg, budget))
        if sm is not None:
            out.append(_line(x, sm, st, name, label + SMOOTHED, seg, budget))
    out = [p for p in out if p is not None]
    return pd.concat(out, ignore_index=True) if out else empty


def chart_points(run: Any, name: str, spec: ChartSpec, axis: str, smoothing: float,
                 step_range: tuple[float, float] | None = None,
                 evi: np.ndarray | None = None, max_points: int = MAX_POINTS
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(line points, eval-marker points) of one chart for one run.

    ``evi``: the run's eval-inclusive mask over iters, if already computed (it is cached by
    the caller per file version; computing it costs a set lookup per row).
    """
    df: pd.DataFrame = getattr(run, spec.frame)
    empty = pd.DataFrame(columns=POINT_COLUMNS)
    if len(df) == 0:
        return empty, empty
    keep = marks = None
    if spec.split_evals:
        evi = stats.eval_inclusive(run).to_numpy() if evi is None else evi
        keep, marks = ~evi, evi
    lines, markers = [], []
    for label, values in spec.lines:
        if any(c not in df for c in ("step", "segment")):
            continue
        y = values(df).to_numpy(dtype="float64", na_value=np.nan)
        lines.append(series_points(run, name, spec.frame, y, axis, label,
                                   smooth=smoothing if spec.smooth and smoothing > 0 else None,
                                   step_range=step_range, keep=keep, max_points=max_points))
        if marks is not None and marks.any():
            markers.append(series_points(run, name, spec.frame, y, axis, EVAL_MARK,
                                         step_range=step_range, keep=marks, dots=True,
                                         max_points=max_points))
    lines = [p for p in lines if len(p)]
    markers = [p for p in markers if len(p)]
    return (pd.concat(lines, ignore_index=True) if lines else empty,
            pd.concat(markers, ignore_index=True) if markers else empty)


def metric_names(run: Any) -> list[str]:
    """Names of the extra metrics of a run (HellaSwag, val_bpb, ...)."""
    return sorted(run.metrics["name"].dropna().astype(str).unique()) if len(run.metrics) else []


def metric_points(run: Any, name: str, metric: str, axis: str,
                  step_range: tuple[float, float] | None = None) -> pd.DataFrame:
    """Chart points of one named metric (the metrics frame is long: name, value)."""
    sub = run.metrics[run.metrics["name"] == metric]
    view = _FrameView(run, sub)
    y = sub["value"].to_numpy(dtype="float64", na_value=np.nan)
    return series_points(view, name, "metrics", y, axis, metric, step_range=step_range)


class _FrameView:
    """A run whose ``metrics`` frame is replaced (to chart one metric by name)."""
    def __init__(self, run: Any, metrics: pd.DataFrame):
        self._run, self.metrics = run, metrics

    def __getattr__(self, item: str) -> Any:
        return getattr(self._run, item)


def nonfinite_ranges(run: Any, max_ranges: int = 200) -> list[tuple[int, int]]:
    """Step ranges where the training loss was not finite (NaN/inf), merged when adjacent.

    From the iters (a null loss means not finite) and the anomaly events; at most
    ``max_ranges`` ranges, the rest merged into the last one, so a run that diverged for a
    million steps still draws one band rather than a million rules.
    """
    steps: list[np.ndarray] = []
    loss = run.iters["loss"] if len(run.iters) else None
    # a log that prints no training loss at all (some modded-nanogpt records) has null
    # losses that mean "not logged", not "not finite": only its anomaly events count
    if loss is not None and loss.notna().any():
        bad = loss.isna().to_numpy()
        steps.append(run.iters["step"].to_numpy(dtype="float64", na_value=np.nan)[bad])
    if len(run.anomalies):
        steps.append(run.anomalies["step"].to_numpy(dtype="float64", na_value=np.nan))
    if not steps:
        return []
    s = np.unique(np.concatenate(steps))
    s = s[np.isfinite(s)].astype(np.int64)
    if len(s) == 0:
        return []
    breaks = np.flatnonzero(np.diff(s) > 1)
    starts = np.concatenate([[s[0]], s[breaks + 1]])
    ends = np.concatenate([s[breaks], [s[-1]]])
    ranges = list(zip(starts.tolist(), ends.tolist()))
    if len(ranges) > max_ranges:
        ranges = ranges[:max_ranges - 1] + [(ranges[max_ranges - 1][0], ranges[-1][1])]
    return ranges


def zoom_range(steps: tuple[int, int], first: float | None, last: float | None
               ) -> tuple[float, float]:
    """The step range shown for a finding's steps: the range with context on both sides
    (as wide again on each side, at least 20 steps), within the run's steps when known, so
    a one-step NaN shows the curve leading into it rather than three points."""
    a, b = float(steps[0]), float(steps[1])
    margin = max(20.0, b - a)
    lo, hi = a - margin, b + margin
    if first is not None:
        lo = max(lo, first)
    if last is not None:
        hi = min(hi, last)
    return (lo, max(hi, b))
