"""Vega-Lite chart specs for the dashboard (pure: DataFrames in, a spec dict out).

Plain dicts rather than Altair objects: building and validating seven Altair charts took about
half a second of CPU per live tick, a dict takes microseconds. The data travels as named
``datasets`` (DataFrames), which ``st.vega_lite_chart`` sends to the browser as Arrow.

How a chart reads (what W&B and TensorBoard users expect):

- one colour per run, the same on every chart (the caller passes the runs in a fixed order),
  from the Okabe-Ito palette, which stays distinct for the common colour-vision
  deficiencies; series of one run differ by line style (val dashed, raw faint);
- a long series is a median line with a light min/max band (app.series), so a single slow
  step still shows; eval-inclusive iterations are hollow triangles, kept off the line;
- hovering shows a crosshair and every overlaid series' value at that x;
- the y range can ignore outliers (2nd-98th percentile, as TensorBoard's option does) or be
  set by hand; the x axis zooms and pans with the mouse.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# Okabe & Ito (2008), "Color Universal Design": distinct under protanopia, deuteranopia
# and tritanopia; black last (used for the 8th run)
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000"]
BAND_COLOR = "#d62728"
SMOOTHED = " (smoothed)"
FEW_POINTS = 60          # up to this many points per line, the points are drawn too
HEIGHT = 400          # total, legend and axes included: a plot area ~250 px tall
DASHES = {"val": [6, 3], "train": [1, 0]}
_STYLES = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2]]
_LINE_COLUMNS = ["x", "y", "lo", "hi", "step", "run", "base", "key", "faint", "lab"]
# what each layer's encodings read: a column more is bytes to send and decode in the browser
_DRAWN = ["x", "y", "step", "run", "base", "key", "faint"]
_BAND = ["x", "lo", "hi", "run", "key"]
# the crosshair snaps to at most this many x positions per panel (~4 px apart on a wide
# screen): its nearest-point search (a Voronoi diagram of these points in every panel)
# cost about half of the browser's time to first draw with one per drawn point
HOVER_POINTS = 300


def run_colors(runs: list[str]) -> dict[str, str]:
    """The colour of each run, by its place in ``runs`` (the selection order)."""
    return {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(runs)}


def _prepare(points: pd.DataFrame, log: bool) -> pd.DataFrame:
    df = points
    if log:
        df = df[df["y"] > 0]  # a log axis cannot show zero or negative values
    series = df["series"].astype(str)
    smoothed = series.str.endswith(SMOOTHED)
    # a raw series and its smoothed twin share colour and style; the raw one is drawn faint
    key = df["run"].astype(str) + " · " + series
    df = df.assign(key=key + "|" + df["segment"].astype(str),
                   faint=bool(smoothed.any()) & ~smoothed,
                   base=series.str.removesuffix(SMOOTHED), lab=key)
    return df[_LINE_COLUMNS].reset_index(drop=True)


def y_domain(points: pd.DataFrame, ignore_outliers: bool, log: bool,
             y_range: tuple[float | None, float | None] = (None, None)
             ) -> list[float] | None:
    """The y scale's domain: the hand-set range, else (ignoring outliers) the 2nd-98th
    percentile of the line values padded by 10%; None lets Vega-Lite fit all data."""
    lo, hi = y_range
    if lo is None and hi is None and not ignore_outliers:
        return None
    y = points["y"].to_numpy(dtype="float64") if len(points) else np.empty(0)
    y = y[np.isfinite(y) & ((y > 0) if log else True)]
    if len(y) == 0:
        return None
    if ignore_outliers:
        a, b = np.quantile(y, [0.02, 0.98])
        if log:
            a, b = a / (b / a) ** 0.1, b * (b / a) ** 0.1
        else:
            pad = 0.1 * (b - a) or 0.05 * abs(b) or 1.0
            a, b = a - pad, b + pad
    else:
        a, b = float(y.min()), float(y.max())
    a = a if lo is None else lo
    b = b if hi is None else hi
    if log and a <= 0:
        a = float(y.min())
    return [float(a), float(b)] if b > a else None


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
    return {"orient": "bottom", "title": None, "columns": 3, "labelLimit": 360, **extra}


def _color(colors: dict[str, str]) -> dict[str, Any]:
    return {"field": "run", "type": "nominal", "legend": _legend(),
            "scale": {"domain": list(colors), "range": list(colors.values())}}


def _crosshair(df: pd.DataFrame, x: dict[str, Any], x_title: str
               ) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """A rule at the hovered x with every series' value there, and a dot on each line.

    Both read small datasets made here, at most ``HOVER_POINTS`` x positions: ``hover``,
    one row per x with a column per series (the tooltip; pivoted here, not by a Vega
    transform in the browser), and ``hoverpts``, the dots. Filtering every line point by
    the hovered x, and pivoting in the page, cost ~15% of the browser's time to first
    draw."""
    labels = [str(v) for v in pd.unique(df["lab"])]
    fields = {lab: f"s{i}" for i, lab in enumerate(labels)}  # safe names: no dots/brackets
    tooltip = [{"field": "x", "type": "quantitative", "title": x_title, "format": ",.6~g"}]
    tooltip += [{"field": f, "type": "quantitative", "title": lab, "format": ".5~g"}
                for lab, f in fields.items()]
    hover = {"name": "hover", "select": {"type": "point", "fields": ["x"], "nearest": True,
                                         "on": "pointerover", "clear": "pointerout"}}
    xs = pd.unique(df["x"])
    if len(xs) > HOVER_POINTS:   # evenly spaced x positions, the first and last kept
        keep = xs[np.linspace(0, len(xs) - 1, HOVER_POINTS).round().astype(int)]
        df = df[df["x"].isin(keep)]
    f = df["lab"].map(fields)
    wide = (df.assign(f=f).groupby(["x", "f"], sort=False)["y"].mean()
            .unstack("f").reindex(columns=list(fields.values())).sort_index().reset_index())
    wide.columns.name = None
    return [
        {"data": {"name": "hoverpts"}, "transform": [{"filter": {"param": "hover",
                                                                 "empty": False}}],
         "mark": {"type": "point", "filled": True, "size": 40, "clip": True},
         "encoding": {"x": x, "y": {"field": "y", "type": "quantitative"},
                      "color": {"field": "run", "type": "nominal", "legend": None}}},
        {"data": {"name": "hover"},
         "mark": {"type": "rule", "color": "#555", "strokeWidth": 1},
         "encoding": {"x": x, "tooltip": tooltip,
                      "opacity": {"condition": {"param": "hover", "empty": False,
                                                "value": 0.6}, "value": 0}},
         "params": [hover]},
    ], {"hover": wide, "hoverpts": df[["x", "y", "run"]].reset_index(drop=True)}


def line_chart(points: pd.DataFrame, *, title: str, y_title: str, x_title: str,
               colors: dict[str, str], log: bool = False,
               bands: list[tuple[float, float, str]] | None = None,
               markers: pd.DataFrame | None = None, marker_label: str = "",
               y_format: str | None = None, x_format: str = ",d",
               x_domain: tuple[float, float] | None = None,
               y_scale_domain: list[float] | None = None,
               height: int = HEIGHT) -> dict[str, Any]:
    """A layered Vega-Lite chart of long-form points (x, y, lo, hi, run, series, segment).

    Colour is the run (``colors``: run -> colour, the same dict for every chart); line style
    is the series (val dashed); a raw series that has a smoothed twin is drawn faint. ``bands``
    are (x0, x1, label) ranges shaded behind the lines (non-finite losses, findings; labelled
    when few); ``markers`` are points drawn on top (eval-inclusive iterations).
    """
    df = _prepare(points, log)
    few = bool(len(df) == 0 or df.groupby("key").size().max() <= FEW_POINTS)
    x = _x_encoding(df, x_title, x_format, x_domain)
    y_scale: dict[str, Any] = {"type": "log"} if log else {"zero": False}
    if y_scale_domain is not None:
        y_scale["domain"] = y_scale_domain
    y = {"field": "y", "type": "quantitative", "title": y_title, "scale": y_scale,
         "axis": {"format": y_format or ",.4~r"}}
    datasets: dict[str, pd.DataFrame] = {"lines": df[_DRAWN]}
    layers: list[dict[str, Any]] = []
    if bands:
        datasets["bands"] = _widen(pd.DataFrame(bands, columns=["x0", "x1", "band"]), df["x"])
        layers += _band_layers(x, len(datasets["bands"]))
    spread = df[df["hi"] > df["lo"]]
    if len(spread):
        datasets["spread"] = (spread[spread["lo"] > 0] if log else spread)[_BAND]
        layers.append({"data": {"name": "spread"},
                       "mark": {"type": "area", "opacity": 0.18, "clip": True},
                       "encoding": {"x": x, "y": {**y, "field": "lo"}, "y2": {"field": "hi"},
                                    "detail": {"field": "key", "type": "nominal"},
                                    "color": {**_color(colors), "legend": None}}})
    layers.append({"data": {"name": "lines"},
                   "mark": {"type": "line", "strokeWidth": 1.6, "clip": True, "point": few},
                   "params": [{"name": "zoom", "bind": "scales",
                               "select": {"type": "interval", "encodings": ["x"]}}],
                   "encoding": _line_encoding(df, x, y, colors)})
    if markers is not None and len(markers):
        mdf = markers[markers["y"] > 0] if log else markers
        datasets["markers"] = mdf[["x", "y", "step", "run"]].assign(mark=marker_label)
        layers.append(_marker_layer(x, colors))
    if len(df):
        cross, hover_data = _crosshair(df, x, x_title)
        datasets.update(hover_data)
        layers += cross
    return {"title": title, "height": height, "datasets": datasets, "layer": layers}


def _x_encoding(df: pd.DataFrame, x_title: str, x_format: str,
                x_domain: tuple[float, float] | None) -> dict[str, Any]:
    x: dict[str, Any] = {"field": "x", "type": "quantitative", "title": x_title,
                         "scale": {"zero": False, "nice": False},
                         "axis": {"format": x_format, "labelOverlap": True}}
    if x_format == ",d":
        x["axis"]["tickMinStep"] = 1       # no "419.2" on a step axis
    if x_domain is not None:
        x["scale"]["domain"] = [float(x_domain[0]), float(x_domain[1])]
    elif len(df) and df["x"].nunique() == 1:  # one x (e.g. the first eval): widen the axis
        x0 = float(df["x"].iloc[0])
        x["scale"]["domain"] = [x0 - 1, x0 + 1]
    return x


def _line_encoding(df: pd.DataFrame, x: dict[str, Any], y: dict[str, Any],
                   colors: dict[str, str]) -> dict[str, Any]:
    """The lines' encoding: colour per run, dash per series, faint raw twins."""
    enc: dict[str, Any] = {
        "x": x, "y": y, "detail": {"field": "key", "type": "nominal"},
        "color": _color(colors),
        # a scale, not a test: Streamlit's Vega evaluates a test per point in an
        # interpreter (no eval in the page), a scale lookup is plain code
        "opacity": {"field": "faint", "type": "ordinal", "legend": None,
                    "scale": {"domain": [False, True], "range": [1.0, 0.35]}}}
    bases = [str(v) for v in pd.unique(df["base"])]
    if len(bases) > 1:
        enc["strokeDash"] = {"field": "base", "type": "nominal", "legend": _legend(),
                             "scale": {"domain": bases,
                                       "range": [DASHES.get(b, _STYLES[i % len(_STYLES)])
                                                 for i, b in enumerate(bases)]}}
    return enc


def _band_layers(x: dict[str, Any], n_bands: int) -> list[dict[str, Any]]:
    """Shaded step ranges, with their labels when there are a few (dataset 'bands')."""
    layers = [{"data": {"name": "bands"},
               "mark": {"type": "rect", "opacity": 0.15, "color": BAND_COLOR},
               "encoding": {"x": {**x, "field": "x0"}, "x2": {"field": "x1"},
                            "tooltip": [{"field": "band", "type": "nominal"}]}}]
    if n_bands <= 8:  # a few findings: say what each shaded range is
        layers.append({"data": {"name": "bands"},
                       "mark": {"type": "text", "align": "left", "baseline": "top",
                                "dx": 3, "dy": 3, "fontSize": 10, "color": "#8b1a1a",
                                "clip": True},
                       "encoding": {"x": {**x, "field": "x0"}, "y": {"value": 0},
                                    "text": {"field": "band"}}})
    return layers


def _marker_layer(x: dict[str, Any], colors: dict[str, str]) -> dict[str, Any]:
    """Eval-inclusive iterations as open triangles in the run's colour (dataset 'markers')."""
    return {"data": {"name": "markers"},
            "mark": {"type": "point", "shape": "triangle-up", "filled": False,
                     "size": 45, "strokeWidth": 1.4, "clip": True},
            "encoding": {"x": x, "y": {"field": "y", "type": "quantitative"},
                         "color": {**_color(colors), "legend": None},
                         "shape": {"field": "mark", "type": "nominal",
                                   "scale": {"range": ["triangle-up"]},
                                   "legend": _legend()},
                         "tooltip": [{"field": "run", "type": "nominal"},
                                     {"field": "step", "type": "quantitative",
                                      "format": ",d"},
                                     {"field": "y", "type": "quantitative",
                                      "format": ".4g"}]}}


ZOOM = "zoom"


def _rename_data(node: Any, prefix: str, params: dict[str, str]) -> Any:
    """A panel's spec with its dataset and hover-param names made unique in the page."""
    if isinstance(node, list):
        return [_rename_data(v, prefix, params) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "data" and isinstance(v, dict) and "name" in v:
            out[k] = {**v, "name": prefix + v["name"]}
        elif k in ("param", "name") and isinstance(v, str) and v in params:
            out[k] = params[v]
        else:
            out[k] = _rename_data(v, prefix, params)
    return out


def _x_scales(views: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Each panel's x scale dicts (one per layer that encodes x)."""
    return [[layer["encoding"]["x"]["scale"] for layer in v["layer"]
             if "scale" in layer.get("encoding", {}).get("x", {})] for v in views]


def _one_x_domain(views: list[dict[str, Any]]) -> None:
    """One domain for the shared x scale. A panel with a single x (the first eval) widens
    its own axis by hand; shared, that hand-set domain would override every panel's data
    (an axis from -1 to 1). So a domain is kept only when every panel sets one (the steps
    of a finding or the sidebar's range, the same on all), as their union."""
    scales = _x_scales(views)
    domains = [next((s["domain"] for s in panel if "domain" in s), None) for panel in scales]
    keep = None
    if domains and all(d is not None for d in domains):
        keep = [min(d[0] for d in domains), max(d[1] for d in domains)]
    for panel in scales:
        for s in panel:
            s.pop("domain", None)
            if keep is not None:
                s["domain"] = list(keep)


def linked(panels: list[dict[str, Any]]) -> dict[str, Any]:
    """The panels of a page as one chart, one under another, sharing one x scale and one
    interval selection bound to it: dragging or scrolling on any panel pans and zooms every
    panel's x axis. (Each panel used to have its own selection, so only it moved.)

    Every panel keeps its title, layers, y scale, legends and crosshair; its datasets are
    renamed ``p<i>_<name>`` (Vega-Lite's datasets are one namespace for the whole spec)."""
    datasets: dict[str, pd.DataFrame] = {}
    views, names = [], []
    for i, panel in enumerate(panels):
        prefix = f"p{i}_"
        hover = {"hover": f"hover{i}"}
        layers = _rename_data(panel["layer"], prefix, hover)
        for layer in layers:
            layer["params"] = [p for p in layer.get("params", []) if p["name"] != ZOOM]
            if not layer["params"]:
                del layer["params"]
        line = next(j for j, layer in enumerate(layers)
                    if layer["mark"]["type"] == "line" and layer["data"]["name"].endswith(
                        "lines"))
        layers[line]["name"] = f"panel{i}"
        names.append(f"panel{i}")
        datasets.update({prefix + k: v for k, v in panel["datasets"].items()})
        views.append({"title": panel["title"], "height": panel["height"],
                      "width": "container", "layer": layers})
    _one_x_domain(views)
    # x shared: one scale, so the axes line up and the selection drives every panel; the
    # rest independent, as each panel was drawn on its own (own y, legends, line styles)
    independent = {c: "independent" for c in ("y", "color", "strokeDash", "shape",
                                               "opacity")}
    return {"datasets": datasets, "vconcat": views, "spacing": 24,
            "params": [{"name": ZOOM, "select": {"type": "interval", "encodings": ["x"]},
                        "bind": "scales", "views": names}],
            "resolve": {"scale": {"x": "shared", **independent},
                        "legend": {c: "independent" for c in ("color", "strokeDash",
                                                               "shape")}}}
