"""What the dashboard computes from a Run: summaries, chart points, bands, metadata."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analyzer.run import Run
from app import logic
from app.discovery import RunFile
from tests.app import _runs as R


def _run(evs):
    return Run.from_events(evs, "gptscope", "x")


def _rf(mtime=R.T0 + 100):
    return RunFile(path=None, name="r/events.jsonl", kind="events", mtime=mtime, size=1)


def test_summary_of_a_completed_run():
    run = _run(R.events("r", 200, ended=True))
    s = logic.summarize(run, _rf(), now=R.T0 + 10_000)
    assert (s.status, s.step, s.iters) == ("completed", 199, 200)
    assert s.loss == pytest.approx(4.0 - 2.0 * 199 / 200)
    assert s.val_loss == pytest.approx(4.1 - 150 / 200)   # last eval at step 150
    assert s.elapsed_s == pytest.approx(0.1 * 199 + 1)    # run_end's wall_s


def test_summary_of_a_live_then_silent_run():
    run = _run(R.events("r", 100))
    assert logic.summarize(run, _rf(R.T0 + 10), now=R.T0 + 20).status == "running"
    assert logic.summarize(run, _rf(R.T0 + 10), now=R.T0 + 500).status == "stalled"
    s = logic.summarize(run, _rf(R.T0 + 10), now=R.T0 + 20)
    assert s.elapsed_s == pytest.approx(9.9)               # first event to last event


def test_summary_latest_loss_is_nan_when_the_last_step_was_not_finite():
    run = _run(R.events("r", 10, nan_at=9))
    assert math.isnan(logic.summarize(run, _rf(), now=R.T0).loss)


def test_summary_table_formats():
    rows = [logic.Summary("a", "running", 5, 1.5, None, 3725.0, 990.0, "gptscope", 6)]
    rows.append(logic.Summary("b", "waiting", None, None, None, None, 0.0, "log", 0))
    table = logic.summary_table(rows, now=1000.0)
    assert table.iloc[0].to_dict() == {"run": "a", "status": "running", "step": 5,
                                       "loss": 1.5, "val loss": pytest.approx(math.nan,
                                                                             nan_ok=True),
                                       "elapsed": "1:02:05", "updated": "10 s ago",
                                       "format": "gptscope"}
    assert str(table["step"].dtype) == "Int64" and table["step"].isna().tolist() == [False,
                                                                                      True]
    assert table["loss"].dtype == "float64"


@pytest.mark.parametrize("seconds, want", [(None, "–"), (0.4, "0 s"), (59, "59 s"),
                                           (61, "1:01"), (3600, "1:00:00"), (math.inf, "–")])
def test_fmt_duration(seconds, want):
    assert logic.fmt_duration(seconds) == want


def test_x_axes():
    run = _run(R.events("r", 5))
    it = run.iters
    assert logic.x_of(run, it, "step").tolist() == [0, 1, 2, 3, 4]
    assert logic.x_of(run, it, "tokens").tolist() == [0, 1024, 2048, 3072, 4096]
    np.testing.assert_allclose(logic.x_of(run, it, "time"), [0, 0.1, 0.2, 0.3, 0.4],
                               atol=1e-6)
    no_tokens = _run([R.start("r", tokens_per_iter=None), R.it("r", 0, 1.0)])
    assert logic.x_of(no_tokens, no_tokens.iters, "tokens") is None
    with pytest.raises(ValueError, match="unknown x axis"):
        logic.x_of(run, it, "epochs")


@pytest.mark.parametrize("seconds, unit", [(10, "s"), (179, "s"), (180, "min"),
                                           (3 * 3600, "h")])
def test_time_unit(seconds, unit):
    assert logic.time_unit(seconds)[0] == unit


def test_segments_stay_separate_and_smoothing_restarts():
    evs = [R.start("r")] + [R.it("r", s, 2.0) for s in range(5)]
    evs += [R.start("r")] + [R.it("r", s, 8.0) for s in range(3, 6)]   # a restart at step 3
    run = _run(evs)
    pts = logic.series_points(run, "r", "iters", "loss", "step", smooth=0.9)
    raw = pts[pts.series == "loss"]
    assert raw.groupby("segment").size().to_dict() == {0: 5, 1: 3}
    smooth = pts[pts.series == "loss (smoothed)"]
    # the EMA restarts per segment: segment 1 is 8.0 from its first point, not pulled to 2.0
    assert smooth[smooth.segment == 1].y.tolist() == [8.0, 8.0, 8.0]


def test_zoom_cuts_after_smoothing_and_keeps_full_resolution():
    evs = [R.start("r")] + [R.it("r", s, float(s % 7)) for s in range(10_000)]
    run = _run(evs)
    full = logic.series_points(run, "r", "iters", "loss", "step", smooth=0.6)
    zoom = logic.series_points(run, "r", "iters", "loss", "step", smooth=0.6,
                               step_range=(5000, 5099))
    raw = zoom[zoom.series == "loss"]
    assert raw.step.tolist() == list(range(5000, 5100))      # every point, no downsampling
    assert len(full[full.series == "loss"]) <= 2000
    from app.smoothing import debiased_ema
    want = debiased_ema(np.array([s % 7 for s in range(10_000)], float), 0.6)[5000:5100]
    np.testing.assert_allclose(zoom[zoom.series == "loss (smoothed)"].y, want)


def test_nonfinite_points_are_left_out_and_banded():
    run = _run(R.events("r", 30, nan_at=12))
    pts = logic.series_points(run, "r", "iters", "loss", "step")
    assert 12 not in pts.step.tolist() and len(pts) == 29
    evs = [R.start("r")] + [R.it("r", s, math.nan if s in (3, 4, 5, 9) else 1.0)
                            for s in range(12)]
    assert logic.nonfinite_ranges(_run(evs)) == [(3, 5), (9, 9)]
    many = [R.start("r")] + [R.it("r", s, math.nan if s % 2 else 1.0) for s in range(100)]
    ranges = logic.nonfinite_ranges(_run(many), max_ranges=5)
    assert ranges == [(1, 1), (3, 3), (5, 5), (7, 7), (9, 99)]


def test_chart_points_of_each_spec():
    run = _run(R.events("r", 120))
    by_key = {s.key: s for s in logic.CHARTS}
    lines, marks = logic.chart_points(run, "r", by_key["dt"], "step", 0.6)
    assert marks.step.tolist() == [0, 50, 100]
    assert set(marks.y) == {400.0}
    lines, _ = logic.chart_points(run, "r", by_key["eval"], "step", 0.6)
    assert sorted(set(lines.series)) == ["train", "val"] and len(lines) == 6
    lines, _ = logic.chart_points(run, "r", by_key["mfu"], "step", 0.6)
    assert set(lines.y) == {25.0}                              # fraction shown in %
    lines, _ = logic.chart_points(run, "r", by_key["loss"], "step", 0.0)
    assert set(lines.series) == {"train loss"}                 # no smoothing at 0


def test_steps_to_x_interpolates_wall_time():
    run = _run(R.events("r", 10))
    np.testing.assert_allclose(logic.steps_to_x(run, "time", [2, 2.5]), [0.2, 0.25],
                               atol=1e-6)
    assert logic.steps_to_x(run, "tokens", [2]).tolist() == [2048]


def test_metric_points_by_name():
    from gptscope.schema import make_event
    evs = [R.start("r"), make_event("metric", "r", 10, R.T0, name="hellaswag", value=0.25),
           make_event("metric", "r", 20, R.T0, name="hellaswag", value=0.27),
           make_event("metric", "r", 20, R.T0, name="val_bpb", value=1.1)]
    run = _run(evs)
    assert logic.metric_names(run) == ["hellaswag", "val_bpb"]
    pts = logic.metric_points(run, "r", "hellaswag", "step")
    assert pts.y.tolist() == [0.25, 0.27] and set(pts.series) == {"hellaswag"}


def test_meta_rows_and_evidence():
    run = _run(R.events("r", 3, ended=True))
    rows = dict(logic.meta_rows(run, "r/events.jsonl"))
    assert rows["model parameters"] == "12.35k"
    assert rows["model shape"] == "n_layer=2, n_head=2, n_embd=16, block_size=32, vocab_size=65"
    assert rows["peak FLOP/s source"] == "unknown" and rows["device"] == "cpu"
    assert rows["end"] == "completed"
    text = logic.fmt_evidence({"ratio": 5.123456, "steps": list(range(10)), "ok": True})
    assert text == "ratio = 5.123 · steps = [0, 1, 2, 3, 4, 5, 6, 7, …] · ok = True"


@pytest.mark.parametrize("n, want", [(None, "–"), (12, "12"), (1234, "1.23k"),
                                     (10_650_000, "10.65M"), (3.12e14, "312.00T"),
                                     (2e9, "2.00G")])
def test_fmt_count(n, want):
    assert logic.fmt_count(n) == want
