"""Vega-Lite chart specs for the dashboard (pure: DataFrames in, a spec dict out).

Plain dicts rather than Altair objects: building and validating seven Altair charts took about
half a second of CPU per live tick, a dict takes microseconds. The data travels as named
``datasets`` (DataFrames), which ``st.vega_lite_chart`` sends to the browser as Arrow.

Points arrive already cut to about 2,000 per series (app.logic). Lines are split by
``run | series | segment`` so that a resumed run, or two runs, never join into one curve.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

SMOOTHED = " (smoothed)"
MARK_COLOR = "#d62728"
FEW_POINTS = 60          # up to this many points per line, the points are drawn too
_LINE_COLUMNS = ["x", "y", "step", "run", "base", "key", "faint"]


def _prepare(points: pd.DataFrame, log: bool) -> pd.DataFrame:
    df = points
    if log:
        df = df[df["y"] > 0]  # a log axis cannot show zero or negative values
    series = df["series"].astype(str)
    smoothed = series.str.endswith(SMOOTHED)
    # a raw series and its smoothed twin share a colour; the raw one is drawn faint
    df = df.assign(key=df["run"].astype(str) + "|" + series + "|" + df["segment"].astype(str),
                   faint=bool(smoothed.any()) & ~smoothed,
                   base=series.str.removesuffix(SMOOTHED))
    return df[_LINE_COLUMNS].reset_index(drop=True)


def _widen(bands: pd.DataFrame, x: pd.Series, min_frac: float = 0.004) -> pd.DataFrame:
    """Give one-step bands a visible width (a NaN at one step of a million is one pixel)."""
    if len(x) == 0:
        return bands
    lo = min(float(x.min()), float(bands["x0"].min()))
    hi = max(float(x.max()), float(bands["x1"].max()))
    half = (hi - lo) * min_frac / 2
    mid = (bands["x0"] + bands["x1"]) / 2
    narrow = (bands["x1"] - bands["x0"]) < 2 * half
    return bands.assign(x0=bands["x0"].where(~narrow, mid - half),
                        x1=bands["x1"].where(~narrow, mid + half))


def _legend(**extra: Any) -> dict[str, Any]:
    return {"orient": "bottom", "title": None, **extra}


def line_chart(points: pd.DataFrame, *, title: str, y_title: str, x_title: str,
               log: bool = False, multi_run: bool = False,
               bands: list[tuple[float, float, str]] | None = None,
               markers: pd.DataFrame | None = None, marker_label: str = "",
               y_format: str | None = None, x_format: str = "~s",
               height: int = 240) -> dict[str, Any]:
    """A layered Vega-Lite line chart of long-form points (x, y, run, series, segment).

    Colour is the run when several runs are overlaid, else the series; a raw series that has a
    smoothed twin is drawn faint. ``bands`` are (x0, x1, label) ranges shaded behind the lines
    (non-finite losses, the selected finding's steps); ``markers`` are points drawn on top
    (eval-inclusive iterations). The x axis zooms and pans with the mouse.
    """
    df = _prepare(points, log)
    few = bool(len(df) == 0 or df.groupby("key").size().max() <= FEW_POINTS)
    x = {"field": "x", "type": "quantitative", "title": x_title,
         "scale": {"zero": False, "nice": False}, "axis": {"format": x_format}}
    if len(df) and df["x"].nunique() == 1:  # one x (e.g. the first eval): a zero-width axis
        x0 = float(df["x"].iloc[0])     # would print ticks like 0.000000, so widen it
        x["scale"]["domain"] = [x0 - 1, x0 + 1]
    y = {"field": "y", "type": "quantitative", "title": y_title,
         "scale": {"type": "log"} if log else {"zero": False},
         "axis": {"format": y_format or ",.4~r"}}
    enc: dict[str, Any] = {
        "x": x, "y": y, "detail": {"field": "key", "type": "nominal"},
        "color": {"field": "run" if multi_run else "base", "type": "nominal",
                  "legend": _legend(labelLimit=320)},
        "opacity": {"condition": {"test": "datum.faint", "value": 0.3}, "value": 1.0}}
    if multi_run and df["base"].nunique() > 1:
        enc["strokeDash"] = {"field": "base", "type": "nominal", "legend": _legend()}
    datasets: dict[str, pd.DataFrame] = {"lines": df}
    layers: list[dict[str, Any]] = []
    if bands:
        datasets["bands"] = _widen(pd.DataFrame(bands, columns=["x0", "x1", "band"]), df["x"])
        layers.append({"data": {"name": "bands"},
                       "mark": {"type": "rect", "opacity": 0.15, "color": MARK_COLOR},
                       "encoding": {"x": {**x, "field": "x0"}, "x2": {"field": "x1"},
                                    "tooltip": [{"field": "band", "type": "nominal"}]}})
    layers.append({"data": {"name": "lines"},
                   "mark": {"type": "line", "strokeWidth": 1.5, "clip": True, "point": few},
                   "params": [{"name": "zoom", "bind": "scales",
                               "select": {"type": "interval", "encodings": ["x"]}}],
                   "encoding": enc})
    if markers is not None and len(markers):
        mdf = markers[markers["y"] > 0] if log else markers
        datasets["markers"] = mdf[["x", "y", "step"]].assign(mark=marker_label)
        layers.append({"data": {"name": "markers"},
                       "mark": {"type": "point", "filled": True, "size": 30,
                                "color": MARK_COLOR, "clip": True},
                       "encoding": {"x": {"field": "x", "type": "quantitative"},
                                    "y": {"field": "y", "type": "quantitative"},
                                    "shape": {"field": "mark", "type": "nominal",
                                              "legend": _legend()},
                                    "tooltip": [{"field": "step", "type": "quantitative",
                                                 "format": "d"},
                                                {"field": "y", "type": "quantitative",
                                                 "format": ".4g"}]}})
    return {"title": title, "height": height, "datasets": datasets, "layer": layers}
