"""Vega-Lite specs: run colours, line styles, bands, markers, crosshair, y range."""
from __future__ import annotations

import pandas as pd
import pytest

from app.charts import PALETTE, line_chart, run_colors, y_domain


def _pts(rows):
    """(x, y, run, series, segment, step) rows; lo = hi = y (nothing bucketed)."""
    df = pd.DataFrame(rows, columns=["x", "y", "run", "series", "segment", "step"])
    return df.assign(lo=df["y"], hi=df["y"])


def _layer(spec, name, mark=None):
    return next(layer for layer in spec["layer"] if layer["data"]["name"] == name
                and (mark is None or layer["mark"]["type"] == mark))


def _chart(pts, runs=("r",), **kw):
    return line_chart(pts, title="t", y_title="y", x_title="step",
                      colors=run_colors(list(runs)), **kw)


def test_each_run_keeps_its_colour_whatever_the_chart_holds():
    colors = run_colors(["a", "b", "c"])
    assert list(colors.values()) == PALETTE[:3] and len(set(PALETTE)) == len(PALETTE)
    # a chart where run "a" has no data still colours b and c as everywhere else
    spec = line_chart(_pts([(0, 1.0, "b", "loss", 0, 0), (0, 2.0, "c", "loss", 0, 0)]),
                      title="t", y_title="y", x_title="s", colors=colors)
    scale = _layer(spec, "lines")["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"])) == colors


def test_raw_is_faint_under_its_smoothed_twin_and_shares_its_style():
    pts = _pts([(0, 2.0, "r", "loss", 0, 0), (1, 1.0, "r", "loss", 0, 1),
                (0, 2.0, "r", "loss (smoothed)", 0, 0), (1, 1.5, "r", "loss (smoothed)", 0, 1)])
    spec = _chart(pts)
    lines = spec["datasets"]["lines"]
    assert lines["faint"].tolist() == [True, True, False, False]
    assert set(lines["base"]) == {"loss"}
    enc = _layer(spec, "lines")["encoding"]
    assert enc["color"]["field"] == "run" and "strokeDash" not in enc
    assert enc["opacity"]["field"] == "faint"           # a scale lookup, no per-point test
    assert dict(zip(enc["opacity"]["scale"]["domain"], enc["opacity"]["scale"]["range"])) \
        == {True: 0.35, False: 1.0}


def test_train_and_val_differ_by_line_style_not_colour():
    pts = _pts([(0, 1.0, "a", "train", 0, 0), (0, 1.2, "a", "val", 0, 0),
                (0, 1.1, "b", "train", 0, 0), (0, 1.3, "b", "val", 0, 0)])
    enc = _layer(_chart(pts, runs=("a", "b")), "lines")["encoding"]
    dash = enc["strokeDash"]
    assert dash["field"] == "base"
    assert dict(zip(dash["scale"]["domain"], dash["scale"]["range"])) == {
        "train": [1, 0], "val": [6, 3]}


def test_segments_and_runs_are_separate_lines():
    pts = _pts([(0, 1.0, "a", "loss", 0, 0), (1, 1.0, "a", "loss", 1, 1),
                (0, 1.0, "b", "loss", 0, 0)])
    spec = _chart(pts, runs=("a", "b"))
    assert spec["datasets"]["lines"]["key"].nunique() == 3
    assert _layer(spec, "lines")["encoding"]["detail"]["field"] == "key"


def test_bucketed_lines_get_a_band_and_eval_markers_sit_on_top():
    pts = _pts([(float(s), 1.0, "r", "dt", 0, s) for s in range(100)])
    pts.loc[40, "hi"] = 9.0                     # one bucket holds a slow step
    marks = _pts([(50.0, 40.0, "r", "eval", 0, 50)])
    spec = _chart(pts, bands=[(9.5, 10.5, "loss not finite"), (20, 40, "finding")],
                  markers=marks, marker_label="includes eval")
    names = [(layer["data"]["name"], layer["mark"]["type"]) for layer in spec["layer"]]
    assert names[:5] == [("bands", "rect"), ("bands", "text"), ("spread", "area"),
                         ("lines", "line"), ("markers", "point")]
    spread = spec["datasets"]["spread"]
    assert spread["x"].tolist() == [40.0] and spread["hi"].tolist() == [9.0]
    # each layer's data holds only the columns its encodings read (bytes the browser decodes)
    assert set(spread.columns) == {"x", "lo", "hi", "run", "key"}
    assert "lab" not in spec["datasets"]["lines"] and "lo" not in spec["datasets"]["lines"]
    marker = _layer(spec, "markers")
    assert marker["mark"]["shape"] == "triangle-up" and marker["mark"]["filled"] is False
    assert spec["datasets"]["markers"]["mark"].tolist() == ["includes eval"]
    bands = spec["datasets"]["bands"]
    assert bands["x1"][0] - bands["x0"][0] == pytest.approx(1.0)


def test_crosshair_lists_every_overlaid_series_at_the_hovered_x():
    pts = _pts([(0, 1.0, "a.log", "loss", 0, 0), (1, 0.9, "a.log", "loss", 0, 1),
                (0, 2.0, "b", "loss", 0, 0), (1, 1.8, "b", "loss", 0, 1)])
    spec = _chart(pts, runs=("a.log", "b"))
    rule = _layer(spec, "hover", "rule")
    assert rule["params"][0]["select"]["nearest"] is True
    assert "transform" not in rule                  # pivoted here, not in the browser
    titles = [t["title"] for t in rule["encoding"]["tooltip"]]
    assert titles == ["step", "a.log · loss", "b · loss"]
    fields = [t["field"] for t in rule["encoding"]["tooltip"][1:]]
    assert all("." not in f for f in fields)                      # no dots in field names
    hover = spec["datasets"]["hover"]                # one row per x, a column per series
    assert hover.columns.tolist() == ["x", *fields]
    assert hover.values.tolist() == [[0.0, 1.0, 2.0], [1.0, 0.9, 1.8]]
    dots = _layer(spec, "hoverpts", "point")         # a dot on each line at the hovered x
    assert dots["transform"] == [{"filter": {"param": "hover", "empty": False}}]
    assert spec["datasets"]["hoverpts"].columns.tolist() == ["x", "y", "run"]


def test_step_axis_has_integer_ticks_and_a_zoom_domain():
    pts = _pts([(float(s), 1.0, "r", "loss", 0, s) for s in range(10)])
    x = _layer(_chart(pts, x_domain=(2.0, 7.0)), "lines")["encoding"]["x"]
    assert x["axis"]["format"] == ",d" and x["axis"]["tickMinStep"] == 1
    assert x["scale"]["domain"] == [2.0, 7.0]


def test_log_scale_drops_non_positive_values():
    pts = _pts([(0, 0.0, "r", "lr", 0, 0), (1, 1e-3, "r", "lr", 0, 1),
                (2, -1.0, "r", "lr", 0, 2)])
    spec = _chart(pts, log=True)
    assert spec["datasets"]["lines"]["y"].tolist() == [1e-3]
    assert _layer(spec, "lines")["encoding"]["y"]["scale"] == {"type": "log"}


def test_y_range_ignores_outliers_or_follows_the_hand():
    # a step-0 loss of 11 above a curve between 2 and 3
    pts = _pts([(0, 11.0, "r", "loss", 0, 0)]
               + [(float(s), 3.0 - s / 100, "r", "loss", 0, s) for s in range(1, 101)])
    assert y_domain(pts, False, False) is None
    lo, hi = y_domain(pts, True, False)
    assert 1.8 < lo < 2.1 and 2.9 < hi < 3.2           # 11 left out of the scale
    assert y_domain(pts, False, False, (0.0, None)) == [0.0, 11.0]
    spec = _chart(pts, y_scale_domain=[2.0, 3.0])
    assert _layer(spec, "lines")["encoding"]["y"]["scale"]["domain"] == [2.0, 3.0]


def test_a_single_x_gets_a_widened_domain_instead_of_a_zero_width_axis():
    pts = _pts([(0, 4.17, "r", "train", 0, 0), (0, 4.16, "r", "val", 0, 0)])
    assert _layer(_chart(pts), "lines")["encoding"]["x"]["scale"]["domain"] == [-1.0, 1.0]
    two = _pts([(0, 4.17, "r", "train", 0, 0), (250, 2.2, "r", "train", 0, 250)])
    assert "domain" not in _layer(_chart(two), "lines")["encoding"]["x"]["scale"]


def test_the_crosshair_snaps_to_a_bounded_number_of_x_positions():
    from app.charts import HOVER_POINTS
    pts = _pts([(float(s), 1.0 + s, "r", "loss", 0, s) for s in range(5000)])
    spec = _chart(pts)
    hover = spec["datasets"]["hover"]
    assert len(hover) == hover["x"].nunique() == HOVER_POINTS
    assert {0.0, 4999.0} <= set(hover["x"])        # the ends stay reachable
    assert (hover["s0"] == hover["x"] + 1.0).all()  # values at those x, not resampled
    assert len(spec["datasets"]["hoverpts"]) == HOVER_POINTS
