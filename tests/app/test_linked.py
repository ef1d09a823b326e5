"""The chart panels as one linked chart: one x scale, one interval selection bound to it
on every panel (a drag or scroll on any panel zooms all), each panel as it was drawn alone."""
from __future__ import annotations

import json

import pandas as pd

from app.charts import line_chart, linked, run_colors


def _points(n: int) -> pd.DataFrame:
    df = pd.DataFrame({"x": range(n), "y": [1.0 + i % 3 for i in range(n)], "run": "r",
                       "series": "loss", "segment": 0, "step": range(n)})
    return df.assign(lo=df["y"] - 0.1, hi=df["y"] + 0.1)


def _panel(title: str, n: int, markers: bool = False):
    df = _points(n)
    mk = df.iloc[::10][["x", "y", "step", "run"]] if markers else None
    return line_chart(df, title=title, y_title="y", x_title="step",
                      colors=run_colors(["r"]), markers=mk, marker_label="includes eval",
                      bands=[(2.0, 4.0, "nan")])


def _params(node, out):
    """Every param declared anywhere in the spec."""
    if isinstance(node, dict):
        out += node.get("params", [])
        for v in node.values():
            _params(v, out)
    elif isinstance(node, list):
        for v in node:
            _params(v, out)
    return out


def test_one_scale_bound_selection_on_every_panel():
    panels = [_panel("loss", 100), _panel("time", 80, markers=True), _panel("lr", 5)]
    spec = linked(panels)
    assert [p["title"] for p in spec["vconcat"]] == ["loss", "time", "lr"]
    zooms = [p for p in _params(spec, []) if p.get("bind") == "scales"]
    assert len(zooms) == 1                                    # one selection, not one each
    zoom = zooms[0]
    assert zoom["select"] == {"type": "interval", "encodings": ["x"]}
    assert spec["params"] == [zoom]
    # it is bound on every panel: on the panel's line layer
    named = {layer.get("name"): (i, layer) for i, p in enumerate(spec["vconcat"])
             for layer in p["layer"] if "name" in layer}
    assert sorted(named) == sorted(zoom["views"]) and len(zoom["views"]) == 3
    assert sorted(i for i, _ in named.values()) == [0, 1, 2]
    assert all(layer["mark"]["type"] == "line" for _, layer in named.values())
    assert spec["resolve"]["scale"]["x"] == "shared"          # one x scale: axes line up
    assert spec["resolve"]["scale"]["y"] == "independent"


def test_each_panel_keeps_its_data_crosshair_markers_and_band():
    panels = [_panel("loss", 100), _panel("time", 80, markers=True)]
    spec = linked(panels)
    # datasets are one namespace: every panel's own, under its prefix, unchanged
    for i, p in enumerate(panels):
        for name, df in p["datasets"].items():
            assert spec["datasets"][f"p{i}_{name}"] is df
    for i, panel in enumerate(spec["vconcat"]):
        names = {layer["data"]["name"] for layer in panel["layer"]}
        assert names <= {k for k in spec["datasets"] if k.startswith(f"p{i}_")}
        marks = [layer["mark"]["type"] for layer in panel["layer"]]
        assert {"rect", "area", "line", "rule"} <= set(marks)
        # the crosshair's hover param is the panel's own and its filters name it
        hover = [p["name"] for p in _params(panel, []) if p["name"].startswith("hover")]
        assert hover == [f"hover{i}"]
        text = json.dumps(panel["layer"])
        assert '"param": "hover"' not in text and f'"param": "hover{i}"' in text
    time_marks = next(layer for layer in spec["vconcat"][1]["layer"]
                      if layer["data"]["name"] == "p1_markers")
    assert time_marks["mark"]["shape"] == "triangle-up"
    assert len(spec["datasets"]["p1_markers"]) == 8
    json.dumps({k: v for k, v in spec.items() if k != "datasets"})   # plain JSON


def _x_domains(spec):
    return [layer["encoding"]["x"]["scale"].get("domain") for p in spec["vconcat"]
            for layer in p["layer"] if "scale" in layer.get("encoding", {}).get("x", {})]


def test_a_one_step_panel_does_not_set_every_panels_x_range():
    # the first eval: one x, whose panel alone would widen its axis to [-1, 1]
    spec = linked([_panel("loss", 100), _panel("eval", 1)])
    assert set(map(str, _x_domains(spec))) == {"None"}
    # a range set for every panel (a finding's steps, the sidebar's) is kept
    a = line_chart(_points(100),
                   title="loss", y_title="y", x_title="step", colors=run_colors(["r"]),
                   x_domain=(10, 40))
    b = line_chart(_points(100),
                   title="eval", y_title="y", x_title="step", colors=run_colors(["r"]),
                   x_domain=(10, 40))
    assert {tuple(d) for d in _x_domains(linked([a, b]))} == {(10.0, 40.0)}
