"""The charts of the selected runs (render only: points from app.series, specs from
app.charts).

Every chart of a page shares the runs' colours, the time unit, and the x range (a finding's
steps, or the steps typed in the sidebar), so the panels stay aligned and comparable. They are
drawn as one linked chart (app.charts.linked): zooming or panning one panel moves them all.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analyzer.findings import Finding
from app import series, state
from app.charts import line_chart, linked, run_colors, y_domain
from app.logic import last_time
from app.views.common import label, md_escape

MARKED = ("error", "warning")   # findings drawn on the charts as labelled step ranges


def draw(opened: list[tuple[str, Any]], c: state.Controls,
         x_steps: tuple[float | None, float | None],
         loss_range: tuple[float | None, float | None]) -> None:
    zoom = state.zoom()
    step_range = _step_range(opened, zoom, x_steps)
    if zoom:
        a, b = zoom["steps"]
        cols = st.columns([4, 1])
        cols[0].info(f"Showing steps {a:,}–{b:,} ({md_escape(zoom['code'])}) with the steps "
                     "around them, at full resolution.")
        cols[1].button("Show the whole run", on_click=state.clear_zoom)
    if c.axis == "tokens":
        unknown = [label(n) for n, t in opened if not (t.run.meta or {}).get("tokens_per_iter")]
        if unknown:
            st.caption(md_escape("Not on the tokens axis (tokens per iteration not recorded): "
                                 + ", ".join(unknown)))
    ctx = _Ctx(opened, c, step_range, zoom, run_colors([label(n) for n, _ in opened]),
               _time_div(opened, c.axis), loss_range)
    metrics = sorted({m for _, t in opened for m in series.metric_names(t.run)})
    jobs = [(spec.title, lambda spec=spec: _chart(ctx, spec)) for spec in series.CHARTS]
    jobs += [(m, lambda m=m: _metric_chart(ctx, m)) for m in metrics]
    panels, missing = [], []
    for title, build in jobs:
        try:
            chart = build()
        except Exception as e:  # one odd series must not take the other panels down
            st.warning(md_escape(f"{title}: cannot draw ({type(e).__name__}: {e})"))
            continue
        if chart is None:
            missing.append(title)
        else:
            panels.append(chart)
    if panels:
        # one chart of all panels, so a drag or scroll zooms every panel's x at once
        st.vega_lite_chart(spec=linked(panels), width="stretch")
    if missing:
        st.caption("Not in these logs: " + ", ".join(missing))


class _Ctx:
    """What every chart of one page shares."""
    def __init__(self, opened, c, step_range, zoom, colors, time_div, loss_range):
        self.opened, self.c, self.step_range, self.zoom = opened, c, step_range, zoom
        self.colors, self.time_div, self.loss_range = colors, time_div, loss_range
        unit = {3600.0: "h", 60.0: "min", 1.0: "s"}[time_div]
        self.x_title = f"wall time ({unit})" if c.axis == "time" else series.X_AXES[c.axis]
        self.x_format = ",.3~r" if c.axis == "time" else (",d" if c.axis == "step" else "~s")
        self.x_domain = None
        if step_range is not None:
            self.x_domain = _domain(opened[0][1].run, c.axis, step_range, time_div)


def _step_range(opened, zoom, x_steps) -> tuple[float, float] | None:
    if zoom:
        run = opened[0][1].run
        steps = run.iters["step"].dropna() if len(run.iters) else pd.Series(dtype=float)
        first = float(steps.min()) if len(steps) else None
        last = float(steps.max()) if len(steps) else None
        return series.zoom_range(zoom["steps"], first, last)
    lo, hi = x_steps
    if lo is None and hi is None:
        return None
    return (-np.inf if lo is None else float(lo), np.inf if hi is None else float(hi))


def _domain(run, axis: str, step_range, div: float) -> tuple[float, float] | None:
    if not all(np.isfinite(step_range)):
        return None
    xs = series.steps_to_x(run, axis, list(step_range))
    return None if xs is None else (float(xs[0]) / div, float(xs[1]) / div)


def _time_div(opened, axis: str) -> float:
    """One time unit for every panel: from the longest of the selected runs."""
    if axis != "time":
        return 1.0
    spans = []
    for _, t in opened:
        start, last = series.start_time(t.run), last_time(t.run)
        if start is not None and last is not None:
            spans.append(last - start)
    return series.time_unit(max(spans) if spans else 0.0)[1]


def forecast_points(run, name: str, axis: str) -> pd.DataFrame:
    """The loss forecast (analyzer.forecast) as chart points of a 'forecast' series."""
    from analyzer.forecast import forecast_run
    curve = forecast_run(run).curve()
    xs = series.steps_to_x(run, axis, [s for s, _ in curve]) if curve else None
    if xs is None:
        return pd.DataFrame(columns=series.POINT_COLUMNS)
    y = [v for _, v in curve]
    return pd.DataFrame({"x": xs, "y": y, "lo": y, "hi": y, "run": name, "series": "forecast",
                         "segment": int(run.iters["segment"].max()),
                         "step": [s for s, _ in curve]}, columns=series.POINT_COLUMNS)


def reference_points(run, name: str, axis: str) -> pd.DataFrame:
    """Published reference curves that match the run (dataset, tokenizer, size: see
    analyzer.references), in the run's steps, as 'reference: <label>' series of its colour."""
    from analyzer.references import builtin_references, matching, overlay
    frames = []
    last = pd.concat([run.iters["step"], run.evals["step"]]).max()
    for ref in matching(run, builtin_references()):
        curve = overlay(run, ref)
        if pd.notna(last):   # up to the run's last step and one point past it, not beyond
            inside = [p for p in curve if p[0] <= last]
            curve = inside + [p for p in curve if p[0] > last][:1]
        xs = series.steps_to_x(run, axis, [s for s, _ in curve]) if curve else None
        if xs is None:
            continue
        y = [v for _, v in curve]
        frames.append(pd.DataFrame({"x": xs, "y": y, "lo": y, "hi": y, "run": name,
                                    "series": f"reference: {ref.label}", "segment": -1,
                                    "step": [s for s, _ in curve]},
                                   columns=series.POINT_COLUMNS))
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame(columns=series.POINT_COLUMNS))


def _chart(ctx: _Ctx, spec: series.ChartSpec):
    c = ctx.c
    lines, marks, bands = [], [], []
    for name, t in ctx.opened:
        with t.lock:
            run = t.run
            evi = (t.cached("evi", lambda: _evi(run)) if spec.split_evals else None)
            key = ("chart", spec.key, c.axis, c.smoothing, ctx.step_range)
            pts, mk = t.cached(key, lambda: series.chart_points(
                run, label(name), spec, c.axis, c.smoothing, ctx.step_range, evi=evi))
            if spec.nonfinite_bands:
                bands += _bands(run, c.axis, t.cached("nan", lambda: series.nonfinite_ranges(
                    run)), "loss not finite")
                bands += _finding_bands(run, c.axis, t.findings or [], multi=len(ctx.opened) > 1,
                                        name=label(name))
            if ctx.zoom and name == ctx.opened[0][0]:
                bands += _bands(run, c.axis, [ctx.zoom["steps"]], f"finding: {ctx.zoom['code']}")
        lines.append(pts)
        marks.append(mk)
        if spec.key == "loss" and c.axis in ("step", "tokens"):   # the dashed forecast
            lines.append(t.cached(("forecast", c.axis), lambda: forecast_points(
                run, label(name), c.axis)))
        if spec.key == "eval" and c.axis in ("step", "tokens"):   # matching references
            lines.append(t.cached(("reference", c.axis), lambda: reference_points(
                run, label(name), c.axis)))
    lines = [p for p in lines if len(p)]
    if not lines:
        return None
    pts = pd.concat(lines, ignore_index=True)
    marks = [m for m in marks if len(m)]
    mk = pd.concat(marks, ignore_index=True) if marks else None
    div = ctx.time_div
    if div != 1.0:
        pts = pts.assign(x=pts["x"] / div)
        mk = mk.assign(x=mk["x"] / div) if mk is not None else None
        bands = [(a / div, b / div, lab) for a, b, lab in bands]
    log = c.log_y and spec.log_ok
    hand = ctx.loss_range if spec.key in ("loss", "eval") else (None, None)
    return line_chart(pts, title=spec.title, y_title=spec.y_title, x_title=ctx.x_title,
                      colors=ctx.colors, log=log, bands=bands or None, markers=mk,
                      marker_label=series.EVAL_MARK, y_format=spec.y_format,
                      x_format=ctx.x_format, x_domain=ctx.x_domain,
                      y_scale_domain=y_domain(pts, c.ignore_outliers, log, hand))


def _evi(run) -> np.ndarray:
    from analyzer.stats import eval_inclusive
    return eval_inclusive(run).to_numpy()


def _metric_chart(ctx: _Ctx, metric: str):
    parts = []
    for name, t in ctx.opened:
        with t.lock:
            parts.append(t.cached(("metric", metric, ctx.c.axis, ctx.step_range),
                                  lambda: series.metric_points(t.run, label(name), metric,
                                                               ctx.c.axis, ctx.step_range)))
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    pts = pd.concat(parts, ignore_index=True)
    pts = pts.assign(x=pts["x"] / ctx.time_div)
    return line_chart(pts, title=metric, y_title=metric, x_title=ctx.x_title,
                      colors=ctx.colors, x_format=ctx.x_format, x_domain=ctx.x_domain,
                      y_scale_domain=y_domain(pts, ctx.c.ignore_outliers, False))


def _finding_bands(run, axis: str, findings: list[Finding], multi: bool, name: str
                   ) -> list[tuple[float, float, str]]:
    """The steps of the serious findings, labelled with their code (and run, if several)."""
    out = []
    for f in findings:
        if f.severity in MARKED and f.steps and f.code != "nonfinite_loss":
            text = f"{f.code} ({name})" if multi else f.code
            out += _bands(run, axis, [f.steps], text)
    return out


def _bands(run, axis: str, ranges, text: str) -> list[tuple[float, float, str]]:
    if not ranges:
        return []
    starts = series.steps_to_x(run, axis, [a - 0.5 for a, _ in ranges])
    ends = series.steps_to_x(run, axis, [b + 0.5 for _, b in ranges])
    if starts is None or ends is None:
        return []
    return [(float(a), float(b), text) for a, b in zip(starts, ends)]
