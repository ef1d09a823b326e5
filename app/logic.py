"""What the dashboard shows besides charts, computed from the analyzer's Run: no Streamlit.

Run-list lines, header figures, metadata rows and their formatting. Everything returns plain
values or small DataFrames, so it can be unit-tested and cached per file version. The status
rule is app.status; the chart series are app.series.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from app.discovery import RunFile
from app.series import start_time
from app.status import status_of

NA = "–"   # what an absent value reads as, everywhere (never nan or None)


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


@dataclass(frozen=True)
class Facts:
    """What a run-list line needs from a run's content: fixed for one file version, so
    the views compute it once per version and only the clock-dependent status per tick."""
    step: int | None
    max_dt_ms: float | None
    elapsed_s: float | None
    loss: float | None
    val_loss: float | None
    format: str
    iters: int


def facts(run: Any) -> Facts:
    step = last_step(run)
    dts = run.iters["dt_ms"] if len(run.iters) else pd.Series(dtype="float64")
    max_dt = float(dts.max()) if dts.notna().any() else None
    start, last = start_time(run), last_time(run)
    if run.end and run.end.get("wall_s") is not None:
        elapsed = float(run.end["wall_s"])
    else:
        elapsed = (last - start) if start is not None and last is not None else None
    loss = _last(run.iters, "loss")
    val = run.evals["val_loss"].dropna() if len(run.evals) else pd.Series(dtype="float64")
    return Facts(step, max_dt, elapsed, None if loss is None else float(loss),
                 float(val.iloc[-1]) if len(val) else None, run.format, len(run.iters))


def summarize(run: Any, rf: RunFile, now: float, known: Facts | None = None) -> Summary:
    """The run-list line of a run read from ``rf`` (``known``: its facts, if cached)."""
    f = known or facts(run)
    status = status_of(run, rf.mtime, now, f.step, f.max_dt_ms)
    return Summary(rf.name, status, f.step, f.loss, f.val_loss, f.elapsed_s, rf.mtime,
                   f.format, f.iters)


def summary_table(rows: Iterable[Summary], now: float) -> pd.DataFrame:
    """The run list as a table, in the given (newest first) order.

    Numbers are formatted here, so an absent one reads as a dash (a float column shows NaN
    as "None" in Streamlit's table)."""
    out = [{"run": s.name, "status": s.status, "step": fmt_int(s.step),
            "loss": fmt_num(s.loss), "val loss": fmt_num(s.val_loss),
            "elapsed": fmt_duration(s.elapsed_s),
            "updated": fmt_duration(max(0.0, now - s.updated)) + " ago",
            "format": s.format} for s in rows]
    return pd.DataFrame(out, columns=["run", "status", "step", "loss", "val loss",
                                      "elapsed", "updated", "format"])


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt_num(v: Any, spec: str = ".4f") -> str:
    f = _finite(v)
    return NA if f is None else format(f, spec)


def fmt_int(v: Any) -> str:
    f = _finite(v)
    return NA if f is None else f"{int(f):,}"


def fmt_pct(fraction: Any) -> str:
    f = _finite(fraction)
    return NA if f is None else f"{100 * f:.{1 if f >= 0.01 else 2}f}%"


def steady_figures(run: Any) -> dict[str, float | None]:
    """Steady-state medians (evals, checkpoints and warm-up left out, as the analyzer's
    summary does): step time, tokens/s and MFU. The last iteration would be an eval step
    in nanoGPT logs half the time, reading "MFU 0.0%"."""
    from analyzer.mfu_basis import mfu_basis
    from analyzer.stats import throughput_stats
    if len(run.iters) == 0:
        return {"step_ms": None, "tokens_per_s": None, "mfu": None, "mfu_note": None}
    t = throughput_stats(run)
    # nanoGPT's MFU is of an A100's peak on every GPU: corrected where the GPU is known,
    # else labelled (analyzer/mfu_basis.py)
    basis = mfu_basis(run.meta)
    return {"step_ms": t.median_step_ms, "tokens_per_s": t.median_tokens_per_s,
            "mfu": basis.apply(t.median_mfu),
            "mfu_note": basis.label if t.median_mfu is not None else None}


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return NA
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


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
    if _finite(n) is None:
        return NA
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
            # several runs in one file (seeds in a loop, a job run twice) are told apart
            ("independent runs in this file", str(max(1, sum(
                sg.get("kind") == "run_start" for sg in run.segments)))),
            ("segments (runs + resumes)", str(run.n_segments)),
            ("lines read / skipped", f"{run.stats.lines} / {run.stats.skipped}")]
    if run.end:
        rows.append(("end", f"{run.end.get('status')}"
                            + (f": {run.end.get('error')}" if run.end.get("error") else "")))
    return rows


# ---------------------------------------------------------------------------- comparison

def best_val(run: Any) -> float | None:
    """The lowest finite val loss of a run (None without evals)."""
    if len(run.evals) == 0:
        return None
    v = run.evals["val_loss"].to_numpy(dtype="float64", na_value=float("nan"))
    v = v[v == v]
    v = v[abs(v) != float("inf")]
    return float(v.min()) if len(v) else None


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def config_diff(runs: list[tuple[str, Any]], limit: int = 40) -> pd.DataFrame:
    """The config and model values that differ between runs: one row per key, one column
    per run (a key a run lacks reads as a dash). Empty when they all agree."""
    flat = {}
    for name, run in runs:
        m = run.meta or {}
        flat[name] = {**_flat(m.get("config") or {}),
                      **_flat(m.get("model") or {}, "model."),
                      **{k: m[k] for k in ("tokens_per_iter", "max_iters", "device", "dtype",
                                           "world_size") if m.get(k) is not None}}
    keys = sorted({k for d in flat.values() for k in d})
    rows = []
    for k in keys:
        values = [flat[n].get(k, NA) for n, _ in runs]
        if len({str(v) for v in values}) > 1:
            rows.append({"setting": k, **{n: str(v) for (n, _), v in zip(runs, values)}})
    return pd.DataFrame(rows[:limit], columns=["setting"] + [n for n, _ in runs])
