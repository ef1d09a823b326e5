"""The dashboard's chart series: x axes, eval iterations apart, median line and band."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analyzer.run import Run
from analyzer.series import debiased_ema
from app import series
from tests.app import _runs as R


def _run(evs, fmt="gptscope"):
    return Run.from_events(evs, fmt, "x")


def _loss(run):
    return run.iters["loss"].to_numpy(dtype="float64", na_value=np.nan)


def test_x_axes():
    run = _run(R.events("r", 5))
    it = run.iters
    assert series.x_of(run, it, "step").tolist() == [0, 1, 2, 3, 4]
    assert series.x_of(run, it, "tokens").tolist() == [0, 1024, 2048, 3072, 4096]
    np.testing.assert_allclose(series.x_of(run, it, "time"), [0, 0.1, 0.2, 0.3, 0.4],
                               atol=1e-6)
    no_tokens = _run([R.start("r", tokens_per_iter=None), R.it("r", 0, 1.0)])
    assert series.x_of(no_tokens, no_tokens.iters, "tokens") is None
    with pytest.raises(ValueError, match="unknown x axis"):
        series.x_of(run, it, "epochs")


@pytest.mark.parametrize("seconds, unit", [(10, "s"), (179, "s"), (180, "min"),
                                           (3 * 3600, "h")])
def test_time_unit(seconds, unit):
    assert series.time_unit(seconds)[0] == unit


def test_segments_stay_separate_and_smoothing_restarts():
    evs = [R.start("r")] + [R.it("r", s, 2.0) for s in range(5)]
    evs += [R.start("r")] + [R.it("r", s, 8.0) for s in range(3, 6)]   # a restart at step 3
    run = _run(evs)
    pts = series.series_points(run, "r", "iters", _loss(run), "step", "loss", smooth=0.9)
    raw = pts[pts.series == "loss"]
    assert raw.groupby("segment").size().to_dict() == {0: 5, 1: 3}
    smooth = pts[pts.series == "loss (smoothed)"]
    # the EMA restarts per segment: segment 1 is 8.0 from its first point, not pulled to 2.0
    assert smooth[smooth.segment == 1].y.tolist() == [8.0, 8.0, 8.0]


def test_zoom_cuts_after_smoothing_and_keeps_full_resolution():
    evs = [R.start("r")] + [R.it("r", s, float(s % 7)) for s in range(10_000)]
    run = _run(evs)
    full = series.series_points(run, "r", "iters", _loss(run), "step", "loss", smooth=0.6)
    zoom = series.series_points(run, "r", "iters", _loss(run), "step", "loss", smooth=0.6,
                                step_range=(5000, 5099))
    raw = zoom[zoom.series == "loss"]
    assert raw.step.tolist() == list(range(5000, 5100))      # every point, no downsampling
    assert len(full[full.series == "loss"]) <= 2000
    want = debiased_ema(np.array([s % 7 for s in range(10_000)], float), 0.6)[5000:5100]
    np.testing.assert_allclose(zoom[zoom.series == "loss (smoothed)"].y, want)


def test_nonfinite_points_are_left_out_and_banded():
    run = _run(R.events("r", 30, nan_at=12))
    pts = series.series_points(run, "r", "iters", _loss(run), "step", "loss")
    assert 12 not in pts.step.tolist() and len(pts) == 29
    evs = [R.start("r")] + [R.it("r", s, math.nan if s in (3, 4, 5, 9) else 1.0)
                            for s in range(12)]
    assert series.nonfinite_ranges(_run(evs)) == [(3, 5), (9, 9)]
    many = [R.start("r")] + [R.it("r", s, math.nan if s % 2 else 1.0) for s in range(100)]
    ranges = series.nonfinite_ranges(_run(many), max_ranges=5)
    assert ranges == [(1, 1), (3, 3), (5, 5), (7, 7), (9, 99)]


def test_chart_points_of_each_spec():
    run = _run(R.events("r", 120))
    by_key = {s.key: s for s in series.CHARTS}
    lines, marks = series.chart_points(run, "r", by_key["dt"], "step", 0.6)
    assert marks.step.tolist() == [0, 50, 100]
    assert set(marks.y) == {400.0}
    lines, _ = series.chart_points(run, "r", by_key["eval"], "step", 0.6)
    assert sorted(set(lines.series)) == ["train", "val"] and len(lines) == 6
    lines, _ = series.chart_points(run, "r", by_key["mfu"], "step", 0.6)
    assert set(lines.y) == {25.0}                              # fraction shown in %
    lines, _ = series.chart_points(run, "r", by_key["loss"], "step", 0.0)
    assert set(lines.series) == {"train loss"}                 # no smoothing at 0


def test_steps_to_x_interpolates_wall_time():
    run = _run(R.events("r", 10))
    np.testing.assert_allclose(series.steps_to_x(run, "time", [2, 2.5]), [0.2, 0.25],
                               atol=1e-6)
    assert series.steps_to_x(run, "tokens", [2]).tolist() == [2048]


def test_metric_points_by_name():
    from gptscope.schema import make_event
    evs = [R.start("r"), make_event("metric", "r", 10, R.T0, name="hellaswag", value=0.25),
           make_event("metric", "r", 20, R.T0, name="hellaswag", value=0.27),
           make_event("metric", "r", 20, R.T0, name="val_bpb", value=1.1)]
    run = _run(evs)
    assert series.metric_names(run) == ["hellaswag", "val_bpb"]
    pts = series.metric_points(run, "r", "hellaswag", "step")
    assert pts.y.tolist() == [0.25, 0.27] and set(pts.series) == {"hellaswag"}




def _nanogpt_like(n: int, eval_every: int, slow_at: int | None = None):
    """Iterations of 100 ms; every ``eval_every``-th holds an eval (4 s, no flag: as a
    stdout log, recognised by the eval at the same step); one real slow step if asked."""
    evs = [R.start("r")]
    for s in range(n):
        if s % eval_every == 0:
            evs.append(R.ev("r", s, 2.0, 2.1))
        dt = 4000.0 if s % eval_every == 0 else (4400.0 if s == slow_at else 100.0)
        evs.append(R.it("r", s, 2.0, dt_ms=dt, step_ms=None, eval_inclusive=False,
                        mfu=0.0 if s % eval_every == 0 else 0.5))
    return _run(evs)


def test_eval_iterations_are_markers_kept_out_of_the_line_and_its_buckets():
    run = _nanogpt_like(20_000, 200, slow_at=7_777)
    spec = {s.key: s for s in series.CHARTS}["dt"]
    lines, marks = series.chart_points(run, "r", spec, "step", 0.0)
    assert marks.step.tolist() == list(range(0, 20_000, 200))      # every eval, as a marker
    assert set(marks.y) == {4000.0}
    assert len(lines) <= 2000 and set(lines.y) == {100.0}          # the line: the median
    assert lines.hi.max() == 4400.0                                # the one slow step: band
    assert not (lines.hi == 4000.0).any()                          # no eval in any bucket
    mfu, mfu_marks = series.chart_points(run, "r", {s.key: s for s in series.CHARTS}["mfu"],
                                         "step", 0.0)
    assert set(mfu.y) == {50.0} and len(mfu_marks) == 0            # 0.0 MFU: not measured


def test_few_points_are_drawn_as_they_are():
    run = _nanogpt_like(50, 10)
    lines, _ = series.chart_points(run, "r", {s.key: s for s in series.CHARTS}["dt"],
                                   "step", 0.0)
    assert lines.step.tolist() == [s for s in range(50) if s % 10]
    assert (lines.lo == lines.y).all() and (lines.hi == lines.y).all()


def test_time_chart_uses_the_step_time_when_there_is_no_dt(realdata):
    from analyzer import loader as load
    spec = {s.key: s for s in series.CHARTS}["dt"]
    for path in ("llmc/hector-11685414-full-run-a100.log",
                 "nanochat/pr492-speedrun-d24-base_train-8xH100-head400.log",
                 "modded-nanogpt/2025-01-26-batchsize.log"):
        run = load.load(realdata / path)
        lines, _ = series.chart_points(run, "r", spec, "step", 0.0)
        assert len(lines) > 20 and (lines.y > 0).all(), path


def test_zoom_keeps_context_around_a_short_range():
    assert series.zoom_range((419, 419), 0.0, 5000.0) == (399.0, 439.0)
    assert series.zoom_range((100, 300), 0.0, 5000.0) == (0.0, 500.0)
    assert series.zoom_range((10, 12), 5.0, 15.0) == (5.0, 15.0)   # within the run


def test_a_log_without_training_losses_is_not_banded_as_not_finite(realdata):
    from analyzer import loader as load
    run = load.load(realdata / "modded-nanogpt/2024-12-10-mfutweaks-no-train_loss.log")
    assert run.iters["loss"].isna().all() and len(run.iters) > 100
    assert series.nonfinite_ranges(run) == []
