"""What the dashboard shows, computed from the analyzer's Run: no Streamlit here.

Everything returns plain values or small DataFrames, so it can be unit-tested and cached per
file version. Chart data is "long" (one row per point: x, y, run, series, segment) and already
cut to about 2,000 points per series.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from app.discovery import RunFile, run_status, stall_after_s
from app.downsample import MAX_POINTS, minmax_indices
from app.smoothing import debiased_ema

X_AXES = {"step": "step", "time": "wall time", "tokens": "tokens"}
POINT_COLUMNS = ["x", "y", "run", "series", "segment", "step"]


# ---------------------------------------------------------------------------- summaries

@dataclass(frozen=True)
class Summary:
    """One line of the run list."""
    name: str
    status: str
    step: int | None
    loss: float | None
    val_loss: float | None
    elapsed_s: float | None
    updated: float          # file mtime
    format: str
    iters: int


def _last(df: pd.DataFrame, col: str) -> Any:
    if df is None or len(df) == 0 or col not in df:
        return None
    v = df[col].iloc[-1]
    return None if v is None or v is pd.NA else v


def _start_time(run: Any) -> float | None:
    t = run.meta.get("time") if run.meta else None
    if t is None:
        times = [df["time"].min() for df in (run.iters, run.evals) if len(df)]
        times = [x for x in times if x == x]
        t = min(times) if times else None
    return None if t is None else float(t)


def last_time(run: Any) -> float | None:
    times = [df["time"].max() for df in (run.iters, run.evals) if len(df)]
    if run.end and run.end.get("time") is not None:
        times.append(run.end["time"])
    times = [float(x) for x in times if x == x]
    return max(times) if times else None


def last_step(run: Any) -> int | None:
    steps = [df["step"].max() for df in (run.iters, run.evals) if len(df)]
    steps = [int(s) for s in steps if s is not pd.NA and s == s]
    return max(steps) if steps else None


def summarize(run: Any, rf: RunFile, now: float) -> Summary:
    """The run-list line of a run read from ``rf``."""
    step = last_step(run)
    dts = run.iters["dt_ms"] if len(run.iters) else pd.Series(dtype="float64")
    max_dt = float(dts.max()) if dts.notna().any() else None
    max_iters = run.meta.get("max_iters") if run.meta else None
    finished = (run.format != "gptscope" and max_iters is not None and step is not None
                and step >= int(max_iters))
    end_status = run.end.get("status") if run.end else None
    status = run_status(end_status, rf.mtime, now, stall_after_s(max_dt),
                        ours=run.format == "gptscope", finished=finished)
    start, last = _start_time(run), last_time(run)
    if run.end and run.end.get("wall_s") is not None:
        elapsed = float(run.end["wall_s"])
    else:
        elapsed = (last - start) if start is not None and last is not None else None
    loss = _last(run.iters, "loss")
    val = run.evals["val_loss"].dropna() if len(run.evals) else pd.Series(dtype="float64")
    return Summary(rf.name, status, step, None if loss is None else float(loss),
                   float(val.iloc[-1]) if len(val) else None, elapsed, rf.mtime, run.format,
                   len(run.iters))


def summary_table(rows: Iterable[Summary], now: float) -> pd.DataFrame:
    """The run list as a table, in the given (newest first) order."""
    out = [{"run": s.name, "status": s.status, "step": s.step,
            "loss": s.loss, "val loss": s.val_loss,
            "elapsed": fmt_duration(s.elapsed_s),
            "updated": fmt_duration(max(0.0, now - s.updated)) + " ago",
            "format": s.format} for s in rows]
    table = pd.DataFrame(out, columns=["run", "status", "step", "loss", "val loss",
                                       "elapsed", "updated", "format"])
    # typed columns, so a missing value shows as an empty cell rather than "None"
    table["step"] = pd.to_numeric(table["step"]).astype("Int64")
    for col in ("loss", "val loss"):
        table[col] = pd.to_numeric(table[col]).astype("float64")
    return table


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# ---------------------------------------------------------------------------- x axis

def x_of(run: Any, df: pd.DataFrame, axis: str) -> np.ndarray | None:
    """The x values of rows of ``run``'s iters/evals frame for an axis; None if unknown.

    'time' is seconds since the run started; 'tokens' is step x tokens per iteration.
    """
    if axis == "step":
        return df["step"].to_numpy(dtype="float64", na_value=np.nan)
    if axis == "time":
        start = _start_time(run)
        return None if start is None else df["time"].to_numpy(dtype="float64") - start
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


# ---------------------------------------------------------------------------- series

def _points(x: np.ndarray, y: np.ndarray, steps: np.ndarray, run: str, series: str,
            segment: int, max_points: int) -> pd.DataFrame | None:
    """Min/max-downsampled points of one line; NaN (and NaN x) points are left out."""
    idx = minmax_indices(y, max_points)   # a NaN never wins a bucket
    idx = idx[np.isfinite(y[idx]) & np.isfinite(x[idx])]
    if len(idx) == 0:
        return None
    return pd.DataFrame({"x": x[idx], "y": y[idx], "run": run, "series": series,
                         "segment": segment, "step": steps[idx]}, columns=POINT_COLUMNS)


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


def series_points(run: Any, name: str, frame: str, column: str, axis: str,
                  series: str | None = None, scale: float = 1.0, smooth: float | None = None,
                  step_range: tuple[float, float] | None = None,
                  max_points: int = MAX_POINTS, mask_column: str | None = None
                  ) -> pd.DataFrame:
    """Chart points of one column of a run, per segment, downsampled with min/max buckets.

    ``smooth`` adds TensorBoard's debiased EMA of the whole segment (computed before the
    step range is cut, so zooming in does not change the smoothed values). ``mask_column``
    keeps only rows where that boolean column is true (e.g. eval-inclusive iterations).
    """
    df: pd.DataFrame = getattr(run, frame)
    empty = pd.DataFrame(columns=POINT_COLUMNS)
    if len(df) == 0 or column not in df:
        return empty
    xs = x_of(run, df, axis)
    if xs is None:
        return empty
    ys = df[column].to_numpy(dtype="float64", na_value=np.nan)
    ys = ys * scale if scale != 1.0 else ys
    steps = df["step"].to_numpy(dtype="float64", na_value=np.nan)
    keep = None if mask_column is None else df[mask_column].to_numpy(bool)
    label = series or column
    slices = segment_slices(df["segment"].to_numpy())
    budget = max(200, max_points // max(1, len(slices)))
    out = []
    for seg, a, b in slices:
        x, y, st = xs[a:b], ys[a:b], steps[a:b]
        if keep is not None:
            k = keep[a:b]
            x, y, st = x[k], y[k], st[k]
        sm = debiased_ema(y, smooth) if smooth else None
        if step_range is not None:
            r = (st >= step_range[0]) & (st <= step_range[1])
            x, y, st = x[r], y[r], st[r]
            sm = None if sm is None else sm[r]
        out.append(_points(x, y, st, name, label, seg, budget))
        if sm is not None:
            out.append(_points(x, sm, st, name, f"{label} (smoothed)", seg, budget))
    out = [p for p in out if p is not None]
    return pd.concat(out, ignore_index=True) if out else empty


def nonfinite_ranges(run: Any, max_ranges: int = 200) -> list[tuple[int, int]]:
    """Step ranges where the training loss was not finite (NaN/inf), merged when adjacent.

    From the iters (a null loss means not finite) and the anomaly events; at most
    ``max_ranges`` ranges, the rest merged into the last one, so a run that diverged for a
    million steps still draws one band rather than a million rules.
    """
    steps: list[np.ndarray] = []
    if len(run.iters):
        bad = run.iters["loss"].isna().to_numpy()
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


# ---------------------------------------------------------------------------- chart specs

@dataclass(frozen=True)
class ChartSpec:
    """One chart of the run view: which columns, how labelled, how drawn."""
    key: str
    title: str
    y_title: str
    # (frame, column, series label, scale factor), drawn as lines
    lines: tuple[tuple[str, str, str, float], ...]
    smooth: bool = False            # add TensorBoard-smoothed twins of the lines
    log_ok: bool = True             # follows the log-scale toggle
    # (frame, column, mask column, label): points drawn on top of the lines
    marker: tuple[str, str, str, str] | None = None
    nonfinite_bands: bool = False   # shade steps where the loss was NaN/inf
    y_format: str | None = None     # d3 format of the y axis labels


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("loss", "training loss", "loss", (("iters", "loss", "train loss", 1.0),),
              smooth=True, nonfinite_bands=True),
    ChartSpec("eval", "eval losses", "loss", (("evals", "train_loss", "train", 1.0),
                                              ("evals", "val_loss", "val", 1.0))),
    ChartSpec("dt", "time per iteration", "dt (ms)", (("iters", "dt_ms", "dt", 1.0),),
              marker=("iters", "dt_ms", "eval_inclusive", "includes eval/checkpoint")),
    ChartSpec("mfu", "model FLOPs utilisation", "MFU (%)",
              (("iters", "mfu", "MFU", 100.0),
               ("iters", "mfu_smoothed", "MFU (running)", 100.0)), log_ok=False),
    ChartSpec("lr", "learning rate", "lr", (("iters", "lr", "lr", 1.0),), log_ok=False,
              y_format="~e"),
    ChartSpec("tps", "throughput", "tokens/s",
              (("iters", "tokens_per_s", "tokens/s", 1.0),), log_ok=False, y_format="~s"),
    ChartSpec("grad_norm", "gradient norm", "grad norm",
              (("iters", "grad_norm", "grad norm", 1.0),)),
)


def chart_points(run: Any, name: str, spec: ChartSpec, axis: str, smoothing: float,
                 step_range: tuple[float, float] | None = None,
                 max_points: int = MAX_POINTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(line points, marker points) of one chart for one run."""
    parts = [series_points(run, name, frame, col, axis, series=label, scale=scale,
                           smooth=smoothing if spec.smooth and smoothing > 0 else None,
                           step_range=step_range, max_points=max_points)
             for frame, col, label, scale in spec.lines]
    parts = [p for p in parts if len(p)]
    lines = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=POINT_COLUMNS)
    markers = pd.DataFrame(columns=POINT_COLUMNS)
    if spec.marker:
        frame, col, mask, label = spec.marker
        if mask in getattr(run, frame):
            markers = series_points(run, name, frame, col, axis, series=label,
                                    step_range=step_range, max_points=max_points,
                                    mask_column=mask)
    return lines, markers


def metric_names(run: Any) -> list[str]:
    """Names of the extra metrics of a run (HellaSwag, val_bpb, ...)."""
    return sorted(run.metrics["name"].dropna().astype(str).unique()) if len(run.metrics) else []


def metric_points(run: Any, name: str, metric: str, axis: str,
                  step_range: tuple[float, float] | None = None) -> pd.DataFrame:
    """Chart points of one named metric (the metrics frame is long: name, value)."""
    sub = run.metrics[run.metrics["name"] == metric]
    view = _FrameView(run, sub)
    return series_points(view, name, "metrics", "value", axis, series=metric,
                         step_range=step_range)


class _FrameView:
    """A run whose ``metrics`` frame is replaced (to chart one metric by name)."""
    def __init__(self, run: Any, metrics: pd.DataFrame):
        self._run, self.metrics = run, metrics

    def __getattr__(self, item: str) -> Any:
        return getattr(self._run, item)


def steps_to_x(run: Any, axis: str, steps: np.ndarray) -> np.ndarray | None:
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
    ok = np.isfinite(xs) & np.isfinite(s)
    if not ok.any():
        return None
    order = np.argsort(s[ok], kind="stable")
    return np.interp(steps, s[ok][order], xs[ok][order])


# ---------------------------------------------------------------------------- metadata

def fmt_evidence(evidence: dict[str, Any], limit: int = 12) -> str:
    """A finding's evidence as 'key = value' pairs, numbers to four significant digits."""
    parts = []
    for key, value in list(evidence.items())[:limit]:
        if isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, (list, tuple)):
            shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value[:8])
            value = f"[{shown}{', …' if len(value) > 8 else ''}]"
        parts.append(f"{key} = {value}")
    if len(evidence) > limit:
        parts.append("…")
    return " · ".join(parts)


def fmt_count(n: float | None) -> str:
    if n is None or not math.isfinite(float(n)):
        return "–"
    n = float(n)
    for unit, div in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:.4g}"


def meta_rows(run: Any, path: str) -> list[tuple[str, str]]:
    """The run's metadata as (field, text) rows, for a plain-text table."""
    m = run.meta or {}
    model = m.get("model") or {}
    peak = m.get("peak_flops")
    rows = [("file", path), ("format", str(run.format)),
            ("run id", str(m.get("run_id", "–"))),
            ("model parameters", fmt_count(model.get("n_params"))),
            ("model shape", ", ".join(f"{k}={model[k]}" for k in
                                      ("n_layer", "n_head", "n_embd", "block_size",
                                       "vocab_size") if k in model) or "–"),
            ("device", " / ".join(str(m[k]) for k in ("device", "device_name") if m.get(k))
             or "–"),
            ("dtype", str(m.get("dtype") or "–")),
            ("processes", str(m.get("world_size") or "–")),
            ("peak FLOP/s per device", "unknown" if not peak else f"{fmt_count(peak)}FLOP/s"),
            ("peak FLOP/s source", str(m.get("peak_flops_source") or "unknown")),
            ("tokens per iteration", fmt_count(m.get("tokens_per_iter"))),
            ("max iterations", str(m.get("max_iters") if m.get("max_iters") is not None
                                   else "–")),
            ("torch", str(m.get("torch_version") or "–")),
            ("segments (run + resumes)", str(run.n_segments)),
            ("lines read / skipped", f"{run.stats.lines} / {run.stats.skipped}")]
    if run.end:
        rows.append(("end", f"{run.end.get('status')}"
                            + (f": {run.end.get('error')}" if run.end.get("error") else "")))
    return rows
