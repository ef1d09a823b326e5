"""analyzer/run.py: ParseStats and the RunBuilder that makes every Run (issue #11)."""
from __future__ import annotations

import numpy as np

from analyzer.run import ITER_COLUMNS, ParseStats, Run, RunBuilder
from tests.analyzer._parse_util import assert_same_run


def test_absorb_adds_counts_keeps_the_sample_cap_and_unions_fields():
    mine = ParseStats(lines=3, parsed=2, skipped=1, samples=[(2, "bad", "x")], max_samples=2,
                      fields=["loss"])
    other = ParseStats(lines=5, parsed=4, skipped=2, samples=[(7, "a", ""), (9, "b", "")],
                       fields=["loss", "lr"], val_unit="bpb")
    mine.absorb(other)
    assert (mine.lines, mine.parsed, mine.skipped) == (8, 6, 3)
    assert mine.samples == [(2, "bad", "x"), (7, "a", "")]   # at most max_samples
    assert mine.fields == ["loss", "lr"] and mine.val_unit == "bpb"


def _iter(step: int, **fields) -> dict:
    return {"type": "iter", "v": 1, "run_id": "r", "time": float(step), "step": step,
            "loss": 2.0 - step / 10, **fields}


def test_columns_and_events_make_the_same_run():
    events = [_iter(s, dt_ms=10.0 + s) for s in range(5)]
    from_events = Run.from_events(events, format="gptscope")
    builder = RunBuilder("gptscope")
    builder.add_iter_columns({"step": np.arange(5), "time": np.arange(5.0),
                              "loss": 2.0 - np.arange(5) / 10, "dt_ms": 10.0 + np.arange(5)},
                             5)
    assert_same_run(builder.run(), from_events)
    assert list(from_events.iters.columns) == ITER_COLUMNS


def test_a_column_no_row_has_is_not_stored_and_cannot_be_written_through():
    builder = RunBuilder("gptscope")
    builder.add_events([_iter(s) for s in range(3)])
    assert "lr" not in builder.iters.cols          # never printed: no memory for it
    run = builder.run()
    assert run.iters["lr"].isna().all() and run.iters["lr"].dtype == np.float64
    frame = run.iters
    frame.loc[0, "loss"] = 99.0                    # a caller's write copies, never ours
    frame.loc[0, "lr"] = 1.0
    again = builder.run().iters
    assert again.loc[0, "loss"] == 2.0 and np.isnan(again.loc[0, "lr"])
    builder.add_events([_iter(3, lr=3e-4)])        # the first value: the column is made
    lr = builder.run().iters["lr"]
    assert np.isnan(lr.iloc[:3]).all() and lr.iloc[3] == 3e-4


def test_a_resume_or_second_run_start_opens_a_segment():
    start = {"type": "run_start", "v": 1, "run_id": "r", "time": 0.0, "step": 0}
    resume = {"type": "resume", "v": 1, "run_id": "r", "time": 9.0, "step": 2}
    run = Run.from_events([start, _iter(0), _iter(1), resume, _iter(2)], format="gptscope")
    assert run.iters["segment"].tolist() == [0, 0, 1]
    assert [s["kind"] for s in run.segments] == ["run_start", "resume"]
