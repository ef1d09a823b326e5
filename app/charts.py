"""Altair chart specs for the dashboard (pure: DataFrames in, ``alt.Chart`` out).

Points arrive already cut to about 2,000 per series (app.logic). Lines are split by
``run | series | segment`` so that a resumed run, or two runs, never join into one curve.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

SMOOTHED = " (smoothed)"
MARK_COLOR = "#d62728"


def _prepare(points: pd.DataFrame, log: bool) -> pd.DataFrame:
    df = points
    if log:
        df = df[df["y"] > 0]  # a log axis cannot show zero or negative values
    df = df.assign(key=df["run"].astype(str) + "|" + df["series"].astype(str) + "|"
                   + df["segment"].astype(str))
    smoothed = df["series"].str.endswith(SMOOTHED)
    # a raw series and its smoothed twin share a colour; the raw one is drawn faint
    return df.assign(faint=smoothed.any() & ~smoothed,
                     base=df["series"].str.removesuffix(SMOOTHED))


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


def line_chart(points: pd.DataFrame, *, title: str, y_title: str, x_title: str,
               log: bool = False, multi_run: bool = False,
               bands: list[tuple[float, float, str]] | None = None,
               markers: pd.DataFrame | None = None, marker_label: str = "",
               x_domain: tuple[float, float] | None = None, y_format: str | None = None,
               height: int = 240) -> alt.Chart:
    """A line chart of long-form points (x, y, run, series, segment).

    Colour is the run when several runs are overlaid, else the series; a raw series that has a
    smoothed twin is drawn faint. ``bands`` are (x0, x1, label) ranges drawn behind the lines
    (non-finite losses, the selected finding's steps); ``markers`` are points drawn on top
    (eval-inclusive iterations).
    """
    df = _prepare(points, log)
    xscale = (alt.Scale(domain=list(x_domain), nice=False) if x_domain
              else alt.Scale(zero=False, nice=False))
    x = alt.X("x:Q", title=x_title, scale=xscale)
    y = alt.Y("y:Q", title=y_title, axis=alt.Axis(format=y_format) if y_format else alt.Undefined,
              scale=alt.Scale(type="log") if log else alt.Scale(zero=False))
    color_field = "run" if multi_run else "base"
    enc = dict(x=x, y=y, detail="key:N",
               color=alt.Color(f"{color_field}:N", title=None,
                               legend=alt.Legend(orient="bottom", labelLimit=320)),
               opacity=alt.condition(alt.datum.faint, alt.value(0.3), alt.value(1.0)))
    if multi_run and df["base"].nunique() > 1:
        enc["strokeDash"] = alt.StrokeDash("base:N", title=None,
                                           legend=alt.Legend(orient="bottom"))
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    layers: list[alt.Chart] = []
    if bands:
        bdf = _widen(pd.DataFrame(bands, columns=["x0", "x1", "band"]), df["x"])
        layers.append(alt.Chart(bdf).mark_rect(opacity=0.15, color=MARK_COLOR).encode(
            x=alt.X("x0:Q", title=x_title), x2="x1:Q", tooltip=["band:N"]))
    # few points (an eval every few hundred steps, a young run): draw the points too, so a
    # single eval is visible at all
    few = bool(len(df) == 0 or df.groupby("key").size().max() <= 60)
    layers.append(alt.Chart(df).mark_line(strokeWidth=1.5, clip=True, point=few)
                  .encode(**enc).add_params(zoom))
    if markers is not None and len(markers):
        mdf = markers[markers["y"] > 0] if log else markers
        layers.append(alt.Chart(mdf.assign(mark=marker_label)).mark_point(
            filled=True, size=30, color=MARK_COLOR, clip=True).encode(
            x="x:Q", y="y:Q", shape=alt.Shape("mark:N", title=None,
                                                legend=alt.Legend(orient="bottom")),
            tooltip=[alt.Tooltip("step:Q", format="d"), alt.Tooltip("y:Q", format=".4g")]))
    chart = alt.layer(*layers) if len(layers) > 1 else layers[0]
    return chart.properties(title=title, height=height)
