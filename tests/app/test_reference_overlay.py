"""The dashboard overlays the published reference curve that matches a run (issue #15):
an llm.c 124M FineWeb run against llm.c's reference curve; nothing for a run that no
reference matches (no dataset, tokenizer or size in its log)."""
from __future__ import annotations

import analyzer
import pytest
from app.views.charts_view import reference_points
from tests.conftest import REALDATA


def test_a_matching_reference_is_drawn_in_the_runs_steps():
    run = analyzer.load(REALDATA / "llmc" / "hector-11685414-full-run-a100.log")
    pts = reference_points(run, "llmc", "step")
    assert len(pts) >= 2
    # the llm.c curve (the modded-nanogpt 3.28 target is a level, not a curve to draw)
    assert set(pts["series"]) == {"reference: llm.c GPT-2 124M reproduction on FineWeb "
                                  "(10B tokens)"}
    assert set(pts["run"]) == {"llmc"}                     # the run's colour
    # the reference's token counts divided by this run's 524,288 tokens per step
    assert pts["x"].min() >= 0 and pts["y"].between(3.0, 11.5).all()
    # the same curve by tokens: steps times this run's 524,288 tokens per step
    by_tokens = reference_points(run, "llmc", "tokens")
    assert (by_tokens["x"] / 524_288).tolist() == pytest.approx(pts["x"].tolist())


def test_no_reference_for_a_run_none_matches():
    run = analyzer.load(REALDATA / "llmc" / "modded-record-2024-10-13-llmc-main.log")
    assert reference_points(run, "x", "step").empty


def test_the_reference_stops_one_point_past_the_run():
    # a run cut at step ~1,700 is not squeezed by a reference drawn to step 19,073
    run = analyzer.load(REALDATA / "llmc" / "hector-11679031-nan-head330.log")
    pts = reference_points(run, "llmc", "step")
    last = max(run.iters["step"].max(), run.evals["step"].max())
    assert len(pts) >= 2 and (pts["x"] > last).sum() <= 1
