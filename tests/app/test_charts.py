"""Vega-Lite specs: layers, colours, faint raw lines, segments kept apart, log scale."""
from __future__ import annotations

import pandas as pd

from app.charts import line_chart


def _pts(rows):
    return pd.DataFrame(rows, columns=["x", "y", "run", "series", "segment", "step"])


def _layer(spec, name):
    return next(layer for layer in spec["layer"] if layer["data"]["name"] == name)


def test_raw_is_faint_under_its_smoothed_twin_and_shares_its_colour():
    pts = _pts([(0, 2.0, "r", "loss", 0, 0), (1, 1.0, "r", "loss", 0, 1),
                (0, 2.0, "r", "loss (smoothed)", 0, 0), (1, 1.5, "r", "loss (smoothed)", 0, 1)])
    spec = line_chart(pts, title="t", y_title="loss", x_title="step")
    lines = spec["datasets"]["lines"]
    assert lines["faint"].tolist() == [True, True, False, False]
    assert set(lines["base"]) == {"loss"}
    enc = _layer(spec, "lines")["encoding"]
    assert enc["color"]["field"] == "base"
    assert enc["opacity"] == {"condition": {"test": "datum.faint", "value": 0.3}, "value": 1.0}


def test_segments_and_runs_are_separate_lines():
    pts = _pts([(0, 1.0, "a", "loss", 0, 0), (1, 1.0, "a", "loss", 1, 1),
                (0, 1.0, "b", "loss", 0, 0)])
    spec = line_chart(pts, title="t", y_title="y", x_title="step", multi_run=True)
    assert spec["datasets"]["lines"]["key"].nunique() == 3
    enc = _layer(spec, "lines")["encoding"]
    assert enc["detail"]["field"] == "key" and enc["color"]["field"] == "run"
    assert "strokeDash" not in enc      # one series per run: no dashes needed


def test_overlaid_eval_losses_are_dashed_by_series():
    pts = _pts([(0, 1.0, "a", "train", 0, 0), (0, 1.2, "a", "val", 0, 0),
                (0, 1.1, "b", "train", 0, 0), (0, 1.3, "b", "val", 0, 0)])
    enc = _layer(line_chart(pts, title="t", y_title="y", x_title="s", multi_run=True),
                 "lines")["encoding"]
    assert enc["strokeDash"]["field"] == "base"


def test_log_scale_drops_non_positive_values():
    pts = _pts([(0, 0.0, "r", "lr", 0, 0), (1, 1e-3, "r", "lr", 0, 1),
                (2, -1.0, "r", "lr", 0, 2)])
    spec = line_chart(pts, title="t", y_title="lr", x_title="step", log=True)
    assert spec["datasets"]["lines"]["y"].tolist() == [1e-3]
    assert _layer(spec, "lines")["encoding"]["y"]["scale"] == {"type": "log"}


def test_bands_are_behind_markers_on_top_and_narrow_bands_widened():
    pts = _pts([(float(s), 1.0, "r", "dt", 0, s) for s in range(1000)])
    marks = _pts([(500.0, 9.0, "r", "eval", 0, 500)])
    spec = line_chart(pts, title="t", y_title="ms", x_title="step",
                      bands=[(99.5, 100.5, "loss not finite"), (200, 400, "finding")],
                      markers=marks, marker_label="includes eval")
    assert [layer["data"]["name"] for layer in spec["layer"]] == ["bands", "lines", "markers"]
    bands = spec["datasets"]["bands"]
    assert bands["x1"][0] - bands["x0"][0] > 1.0            # one step of 1000: widened
    assert (bands["x0"][1], bands["x1"][1]) == (200, 400)   # wide enough already
    assert spec["datasets"]["markers"]["mark"].tolist() == ["includes eval"]


def test_few_points_are_drawn_as_points_too():
    few = _pts([(0, 1.0, "r", "val", 0, 0)])
    many = _pts([(float(s), 1.0, "r", "loss", 0, s) for s in range(100)])
    assert _layer(line_chart(few, title="t", y_title="y", x_title="s"), "lines")[
        "mark"]["point"] is True
    assert _layer(line_chart(many, title="t", y_title="y", x_title="s"), "lines")[
        "mark"]["point"] is False


def test_a_single_x_gets_a_widened_domain_instead_of_a_zero_width_axis():
    pts = _pts([(0, 4.17, "r", "train", 0, 0), (0, 4.16, "r", "val", 0, 0)])
    spec = line_chart(pts, title="t", y_title="loss", x_title="step")
    assert _layer(spec, "lines")["encoding"]["x"]["scale"]["domain"] == [-1.0, 1.0]
    two = _pts([(0, 4.17, "r", "train", 0, 0), (250, 2.2, "r", "train", 0, 250)])
    spec = line_chart(two, title="t", y_title="loss", x_title="step")
    assert "domain" not in _layer(spec, "lines")["encoding"]["x"]["scale"]
