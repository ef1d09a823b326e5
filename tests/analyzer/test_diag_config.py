"""DiagnosticsConfig (validation, overrides, documented defaults), Finding, and run_all."""
from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest

from analyzer.diagnostics import DIAGNOSTICS, DiagnosticsConfig, config_docs, run_all
from analyzer.findings import Finding, sort_findings, worst
from gptscope.schema import make_event
from tests.analyzer._synth import ev, iters, run


@pytest.mark.parametrize("kwargs, field", [
    ({"patience": 0}, "patience"), ({"min_delta": -0.1}, "min_delta"),
    ({"spike_ratio": 1.0}, "spike_ratio"), ({"drop_min_frac": 1.5}, "drop_min_frac"),
    ({"loss_window": 2.5}, "loss_window"), ({"low_mfu": "high"}, "low_mfu"),
    ({"straggler_share": 0}, "straggler_share"),
])
def test_invalid_values_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"DiagnosticsConfig\.{field}"):
        DiagnosticsConfig(**kwargs)


def test_overrides_from_strings():
    cfg = DiagnosticsConfig.from_overrides(["patience=3", "low_mfu=0.2"])
    assert (cfg.patience, cfg.low_mfu) == (3, 0.2) and isinstance(cfg.patience, int)
    with pytest.raises(ValueError, match="unknown diagnostics setting 'nope'"):
        DiagnosticsConfig.from_overrides(["nope=1"])
    with pytest.raises(ValueError, match="patience"):
        DiagnosticsConfig.from_overrides(["patience=2.5"])


def test_every_threshold_has_a_docstring_and_is_in_the_docs(repo_root):
    doc = (repo_root / "docs/analyzer.md").read_text().split("## Thresholds", 1)[1]
    for name, default, text in config_docs():
        assert len(text) > 20, name
        row = re.search(rf"^\| `{name}` \| ([^|]+) \|", doc, re.M)
        assert row, f"{name} missing from docs/analyzer.md"
        assert float(row.group(1)) == pytest.approx(default), name
    assert len(config_docs()) == len(dataclasses.fields(DiagnosticsConfig))


def test_every_code_is_documented(repo_root):
    doc = (repo_root / "docs/analyzer.md").read_text()
    import inspect
    import analyzer.diagnostics as pkg
    codes = set()
    for fn in DIAGNOSTICS.values():
        codes |= set(re.findall(r'code="(\w+)"', inspect.getsource(inspect.getmodule(fn))))
        codes |= set(re.findall(r'"(run_failed|run_interrupted)"',
                                inspect.getsource(inspect.getmodule(fn))))
    assert codes and pkg
    for code in codes:
        assert f"`{code}`" in doc, code


def test_finding_validation_json_and_format():
    with pytest.raises(ValueError, match="severity"):
        Finding(code="x", severity="fatal", message="m")
    f = Finding(code="x", severity="warning", message="m", steps=(3, 9), segment=1,
                evidence={"a": math.nan, "b": [1.0, math.inf], "n": 2})
    d = json.loads(json.dumps(f.to_dict(), allow_nan=False))
    assert d["steps"] == [3, 9] and d["evidence"] == {"a": None, "b": [1.0, None], "n": 2}
    assert f.format().startswith("WARNING x [steps 3-9] (segment 1): m")
    assert f.key == ("x", 1, None)  # a state: its range moves as the run grows
    spike = Finding(code="loss_spike", severity="warning", message="m", steps=(3, 9))
    assert spike.key == ("loss_spike", 0, 3)  # an episode: a later spike is a new finding


def test_sorting_and_worst():
    a = Finding(code="a", severity="info", message="", steps=(1, 1))
    b = Finding(code="b", severity="error", message="", steps=(5, 5))
    c = Finding(code="c", severity="warning", message="")
    assert [f.code for f in sort_findings([a, c, b])] == ["b", "c", "a"]
    assert worst([a, c]) == "warning" and worst([]) is None


def test_run_all_sorts_and_selects():
    steps = list(range(0, 455, 5))
    losses = [3.5 if s < 425 else float("nan") for s in steps]
    evals = [ev(s, 2 - s / 1000, 2 - s / 1000 if s <= 200 else 1.8 + (s - 200) / 1000)
             for s in range(0, 455, 50)]
    r = run(iters(steps, losses), evals)
    findings = run_all(r)
    assert [f.code for f in findings][:2] == ["nonfinite_loss", "overfitting"]
    assert [f.code for f in run_all(r, only=["overfitting"])] == ["overfitting"]
    with pytest.raises(ValueError, match="unknown diagnostic"):
        run_all(r, only=["bogus"])


def test_empty_runs_are_fine():
    empty = run()
    assert run_all(empty) == []
    only_end = run([make_event("run_end", "r", None, 0.0, status="completed", steps=0,
                               wall_s=0.0)])
    assert run_all(only_end) == []
