"""Other trainers' metrics as JSON lines (analyzer/parsers/metrics_jsonl.py)."""
from __future__ import annotations

import json

import pytest

import analyzer
from analyzer.parsers import detect, metrics_jsonl
from tests.analyzer._parse_util import run


def _llama_factory(n: int = 6, every: int = 10, eval_at: int = 30) -> str:
    """trainer_log.jsonl: a record per logging step with a cumulative 'elapsed_time', an eval
    record after the step it evaluates (its time runs into the next interval), and the
    closing record at total_steps without a loss."""
    lines, t = [], 0
    total = n * every
    for k in range(1, n + 1):
        step = k * every
        t += 31 + (60 if step - every == eval_at else 0)
        clock = f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}"
        lines.append({"current_steps": step, "total_steps": total, "loss": 2.2 - k / 100,
                      "lr": 1e-05, "epoch": k / n, "elapsed_time": clock})
        if step == eval_at:
            lines.append({"current_steps": step, "total_steps": total, "eval_loss": 1.64,
                          "elapsed_time": clock})
    lines.append({"current_steps": total, "total_steps": total, "epoch": 1.0,
                  "elapsed_time": "1 day, 0:00:00"})
    return "".join(json.dumps(x) + "\n" for x in lines)


def test_llama_factory_trainer_log():
    r = run(metrics_jsonl, _llama_factory())
    assert r.iters["step"].tolist() == [10, 20, 30, 40, 50, 60]
    assert r.iters["loss"].tolist() == pytest.approx([2.19, 2.18, 2.17, 2.16, 2.15, 2.14])
    assert r.iters["dt_ms"].tolist()[1:] == [3100.0, 3100.0, 9100.0, 3100.0, 3100.0]
    assert r.iters["eval_inclusive"].tolist() == [False, False, False, True, False, False]
    assert r.evals[["step", "val_loss"]].values.tolist() == [[30, 1.64]]
    assert r.end["status"] == "completed" and r.end["step"] == 60


def test_names_and_step_keys_of_other_scripts():
    """'iter' with 'train/loss' and 'val/loss' in one object: the eval and the iteration of
    that step; 'step' with 'loss'; null values are not logged."""
    text = "".join(json.dumps({"iter": i, "train/loss": 5.0 - i / 100, "val/loss": 5.4,
                               "lr": 1e-4}) + "\n" for i in (0, 100, 200))
    text += json.dumps({"iter": 300, "train/loss": None, "val/loss": 5.3}) + "\n"
    r = run(metrics_jsonl, text)
    assert r.iters["step"].tolist() == [0, 100, 200]
    assert r.evals["step"].tolist() == [0, 100, 200, 300]


@pytest.mark.parametrize("clock, seconds", [("0:01:03", 63.0), ("9 days, 21:49:18", 856158.0),
                                            (12.5, 12.5), ("soon", None)])
def test_clock_values(clock, seconds):
    assert metrics_jsonl._seconds(clock) == seconds


def test_detection_leaves_our_events_and_other_json_alone(tmp_path):
    assert detect(_llama_factory().splitlines()) == "metrics_jsonl"
    ours = [json.dumps({"type": "iter", "v": 1, "run_id": "r", "time": 1.0, "step": s,
                        "loss": 2.0}) for s in range(3)]
    assert metrics_jsonl.detect(ours) == 0.0
    config = [json.dumps({"name": "x", "value": 1})] * 3  # no step, no loss
    assert metrics_jsonl.detect(config) == 0.0
    log = tmp_path / "trainer_log.jsonl"
    log.write_text(_llama_factory())
    assert analyzer.load(log).format == "metrics_jsonl"


def test_lines_without_a_step_are_skipped_and_counted():
    r = run(metrics_jsonl, _llama_factory() + '{"loss": 2.0}\n[1, 2]\n')
    assert len(r.iters) == 6 and r.stats.skipped == 2


def test_a_course_scripts_wallclock_step_time_and_tokens_per_second():
    """CS336-style metrics.jsonl: 'wallclock' / 'wall_seconds' are cumulative seconds (the
    step time is their difference), 'step_time_ms' and 'tokens_per_second' the step's own;
    a 'wall_time' of seconds since 1970 counts from its first value."""
    rows = [{"step": s, "train_loss": 5.0 - s / 100, "wallclock": 0.32 * s,
             "step_time_ms": 318.0 + s % 3, "tokens_per_second": 49641.4} for s in (10, 20, 30)]
    r = run(metrics_jsonl, "".join(json.dumps(x) + "\n" for x in rows))
    assert list(r.iters["step_ms"]) == [319.0, 320.0, 318.0]
    assert list(r.iters["dt_ms"].round(6))[1:] == [320.0, 320.0]
    assert list(r.iters["tokens_per_s"]) == [49641.4] * 3
    seconds = [{"kind": "train", "step": s, "loss": 3.0, "wall_seconds": 98.64 + s / 10}
               for s in (0, 10)]
    r = run(metrics_jsonl, "".join(json.dumps(x) + "\n" for x in seconds))
    assert r.iters["dt_ms"].round(6).tolist()[1] == 100.0
    stamps = [{"step": s, "loss": 2.9, "wall_time": 1.7e9 + s / 5} for s in (20, 30)]
    r = run(metrics_jsonl, "".join(json.dumps(x) + "\n" for x in stamps))
    assert r.iters["dt_ms"].round(6).tolist()[1] == 200.0  # (2 s over 10 steps)
    assert r.stats.lines == 2 and r.iters["time"].tolist() == [0.0, 2.0]
