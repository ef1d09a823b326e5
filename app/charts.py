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
    has_smooth = df["series"].str.endswith(SMOOTHED).any()
    faint = has_smooth & ~df["series"].str.endswith(SMOOTHED)
    return df.assign(faint=faint)


def line_chart(points: pd.DataFrame, *, title: str, y_title: str, x_title: str,
               log: bool = False, multi_run: bool = False,
               bands: list[tuple[float, float, str]] | None = None,
               markers: pd.DataFrame | None = None, marker_label: str = "",
               x_domain: tuple[float, float] | None = None, height: int = 240) -> alt.Chart:
    """A line chart of long-form points (x, y, run, series, segment).

    Colour is the run when several runs are overlaid, else the series; a raw series that has a
    smoothed twin is drawn faint. ``bands`` are (x0, x1, label) ranges drawn behind the lines
    (non-finite losses, the selected finding's steps); ``markers`` are points drawn on top
    (eval-inclusive iterations).
    """
    df = _prepare(points, log)
    xscale = alt.Scale(domain=list(x_domain), nice=False) if x_domain else alt.Undefined
    x = alt.X("x:Q", title=x_title, scale=xscale)
    y = alt.Y("y:Q", title=y_title,
              scale=alt.Scale(type="log") if log else alt.Scale(zero=False))
    color_field = "run" if multi_run else "series"
    enc = dict(x=x, y=y, detail="key:N",
               color=alt.Color(f"{color_field}:N", title=None,
                               legend=alt.Legend(orient="bottom", labelLimit=320)),
               opacity=alt.condition(alt.datum.faint, alt.value(0.3), alt.value(1.0)))
    if multi_run and df["series"].nunique() > 1:
        enc["strokeDash"] = alt.StrokeDash("series:N", title=None,
                                           legend=alt.Legend(orient="bottom"))
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    layers: list[alt.Chart] = []
    if bands:
        bdf = pd.DataFrame(bands, columns=["x0", "x1", "band"])
        layers.append(alt.Chart(bdf).mark_rect(opacity=0.15, color=MARK_COLOR).encode(
            x=alt.X("x0:Q", title=x_title), x2="x1:Q", tooltip=["band:N"]))
    layers.append(alt.Chart(df).mark_line(strokeWidth=1.5, clip=True).encode(**enc)
                  .add_params(zoom))
    if markers is not None and len(markers):
        mdf = markers[markers["y"] > 0] if log else markers
        layers.append(alt.Chart(mdf.assign(mark=marker_label)).mark_point(
            filled=True, size=30, color=MARK_COLOR, clip=True).encode(
            x="x:Q", y="y:Q", shape=alt.Shape("mark:N", title=None,
                                                legend=alt.Legend(orient="bottom")),
            tooltip=[alt.Tooltip("step:Q", format="d"), alt.Tooltip("y:Q", format=".4g")]))
    chart = alt.layer(*layers) if len(layers) > 1 else layers[0]
    return chart.properties(title=title, height=height)
