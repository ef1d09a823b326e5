"""The TensorBoard reader: files written by torch's SummaryWriter during the test, and a real
Lightning event file (tests/data/formats/SOURCES.md), checked against tensorboard's own
EventAccumulator as the independent reader."""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from analyzer.diagnostics import run_all
from analyzer.loader import LoadError, load
from analyzer.parsers import _scalars, tensorboard
from analyzer.run import Run

import tensorboard as _tb_extra  # noqa: E402,F401  in the dev extra: never skipped
from torch.utils.tensorboard import SummaryWriter  # noqa: E402

FORMATS = Path(__file__).parent.parent / "data" / "formats"
REAL = FORMATS / "tensorboard" / "events.out.tfevents.1716735746.lstm-textgen-excerpt"


def _write(logdir: Path, scalars: dict[str, list[tuple[int, float]]]) -> None:
    w = SummaryWriter(str(logdir))
    try:
        for tag, points in scalars.items():
            for step, value in points:
                w.add_scalar(tag, value, step)
    finally:
        w.close()


def test_summarywriter_run_directory_maps_common_tags(tmp_path):
    before = time.time()
    loss = [(s, 4.0 - s / 100) for s in range(0, 200, 10)]
    _write(tmp_path, {"train/loss": loss, "train/learning_rate": [(s, 1e-3) for s, _ in loss],
                      "grad_norm": [(s, 0.5) for s, _ in loss],
                      "eval/loss": [(100, 3.1), (190, 3.0)],
                      "my/accuracy": [(100, 0.25)]})
    run = load(tmp_path)
    assert run.format == "tensorboard" and run.source == str(tmp_path)
    it = run.iters
    assert it["step"].tolist() == [s for s, _ in loss]
    np.testing.assert_allclose(it["loss"], [np.float32(v) for _, v in loss])
    np.testing.assert_allclose(it["lr"], 1e-3, rtol=1e-6)
    np.testing.assert_allclose(it["grad_norm"], 0.5)
    assert run.evals["step"].tolist() == [100, 190]
    np.testing.assert_allclose(run.evals["val_loss"], [3.1, 3.0], rtol=1e-6)
    # an unknown tag is kept as a named metric, chartable like HellaSwag
    assert run.metrics[["name", "step"]].values.tolist() == [["my/accuracy", 100]]
    # wall times come from the events
    assert before - 1 <= it["time"].min() <= it["time"].max() <= time.time() + 1


def test_map_override_and_keeping_a_tag_a_metric(tmp_path):
    _write(tmp_path, {"Loss/objective": [(1, 2.0), (2, 1.5)], "loss": [(1, 9.0), (2, 9.0)]})
    plain = load(tmp_path)
    assert plain.iters["loss"].tolist() == [9.0, 9.0]
    mapped = load(tmp_path, tag_map={"Loss/objective": "loss"})
    assert mapped.iters["loss"].tolist() == [2.0, 1.5]
    # the tag it displaced is still there, by name
    assert set(mapped.metrics["name"]) == {"loss"}
    kept = load(tmp_path, tag_map={"loss": "metric"})
    assert len(kept.iters) == 0 and set(kept.metrics["name"]) == {"loss", "Loss/objective"}


def test_parse_map_errors_name_the_item():
    assert _scalars.parse_map(["a/b=c=loss"]) == {"a/b=c": "loss"}
    with pytest.raises(ValueError, match="'x'.*TAG=METRIC"):
        _scalars.parse_map(["x"])
    with pytest.raises(ValueError, match="METRIC must be one of"):
        _scalars.parse_map(["x=speed"])


def test_nan_loss_is_an_anomaly_and_a_finding(tmp_path):
    loss = [(s, 3.0 - s / 1000) for s in range(0, 300, 10)] + [(300, math.nan), (310, math.nan)]
    _write(tmp_path, {"train/loss": loss})
    run = load(tmp_path)
    assert run.anomalies[["step", "kind", "value"]].values.tolist() == [
        [300, "nonfinite_loss", "nan"], [310, "nonfinite_loss", "nan"]]
    codes = {f.code for f in run_all(run)}
    assert any("nan" in c or "nonfinite" in c for c in codes), codes


def test_restart_drops_the_points_it_replaces(tmp_path):
    # a run logged steps 0..50, crashed, resumed from its step-30 checkpoint in a new file
    _write(tmp_path, {"loss": [(s, 1.0) for s in range(0, 60, 10)]})
    time.sleep(1.1)  # event file names hold the creation second: the resume sorts after
    _write(tmp_path, {"loss": [(s, 2.0) for s in range(30, 80, 10)]})
    run = load(tmp_path)
    assert run.iters["step"].tolist() == list(range(0, 80, 10))
    assert run.iters["loss"].tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0]


def test_throughput_from_wall_times(tmp_path):
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    w = EventFileWriter(str(tmp_path))
    for i, step in enumerate(range(0, 100, 10)):  # 10 steps every 2 s: 200 ms a step
        w.add_event(event_pb2.Event(step=step, wall_time=1000.0 + 2.0 * i, summary=summary_pb2.
                                    Summary(value=[summary_pb2.Summary.Value(
                                        tag="loss", simple_value=1.0)])))
    w.close()
    run = load(tmp_path)
    assert math.isnan(run.iters["dt_ms"].iloc[0])
    np.testing.assert_allclose(run.iters["dt_ms"].iloc[1:], 200.0)


def _accumulator(path: Path) -> dict[str, list]:
    from tensorboard.backend.event_processing import event_accumulator
    acc = event_accumulator.EventAccumulator(str(path), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


def test_real_lightning_event_file_matches_tensorboards_own_reading():
    want = _accumulator(REAL)
    run = load(REAL)
    loss = want["train_loss"]
    assert run.iters["step"].tolist() == [e.step for e in loss]
    np.testing.assert_array_equal(run.iters["loss"], [e.value for e in loss])
    np.testing.assert_array_equal(run.iters["time"], [e.wall_time for e in loss])
    val = want["val_loss"]
    assert run.evals["step"].tolist() == [13261, 26523, 39785, 53047] == [e.step for e in val]
    np.testing.assert_array_equal(run.evals["val_loss"], [e.value for e in val])
    assert set(run.metrics["name"]) == {"epoch", "hp_metric"}
    assert len(run.metrics) == len(want["epoch"]) + len(want["hp_metric"])
    # steady ~10 ms a step between the logged steps; the evals are marked in dt_ms
    dt = run.iters["dt_ms"].to_numpy()
    assert 5 < np.nanmedian(dt) < 20
    assert run.iters["eval_inclusive"].sum() == 3  # the 4th eval is the last record
    assert [f.code for f in run_all(run) if f.severity == "error"] == []


def test_file_and_directory_give_the_same_run(tmp_path):
    a, b = load(REAL), load(REAL.parent)
    assert a.iters.equals(b.iters) and a.evals.equals(b.evals)


def test_columns_equal_the_events_path():
    """to_run builds the frames straight from columns; Run.from_events of to_events must
    give the same Run (the contract every fast reader keeps)."""
    series = tensorboard.read_series(REAL)
    tables = _scalars.tables(series)
    fast = _scalars.to_run(tables, "tensorboard", "x")
    slow = Run.from_events(_scalars.to_events(tables, "tensorboard", "x"), "tensorboard")
    for name in ("iters", "evals", "metrics", "anomalies", "checkpoints"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert list(a.columns) == list(b.columns) and list(a.dtypes) == list(b.dtypes), name
        assert a.equals(b), name
    assert fast.meta == slow.meta and fast.segments == slow.segments


def test_keras_style_subdirectories_prefix_their_tags(tmp_path):
    _write(tmp_path / "train", {"epoch_loss": [(0, 2.0), (1, 1.0)]})
    _write(tmp_path / "validation", {"epoch_loss": [(0, 2.5), (1, 1.5)]})
    run = load(tmp_path)
    assert run.evals["val_loss"].tolist() == [2.5, 1.5]  # validation/epoch_loss
    assert set(run.metrics["name"]) == {"train/epoch_loss"}
    run = load(tmp_path, tag_map={"train/epoch_loss": "loss"})
    assert run.iters["loss"].tolist() == [2.0, 1.0]


def test_damaged_files(tmp_path):
    data = REAL.read_bytes()
    cut = tmp_path / "events.out.tfevents.1.cut"
    cut.write_bytes(data[:len(data) - 7])  # a run killed while writing its last record
    run = load(cut)
    assert len(run.iters) >= 1000 and len(run.evals) == 3
    junk = tmp_path / "junk" / "events.out.tfevents.2.junk"
    junk.parent.mkdir()
    junk.write_bytes(b"\x00not an event file at all" * 10)
    with pytest.raises(LoadError, match="junk"):
        load(junk.parent)


def test_missing_package_says_which_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing", None)
    with pytest.raises(LoadError) as e:
        load(REAL)
    assert "pip install 'gptscope[tensorboard]'" in str(e.value)
    assert str(e.value).count("\n") == 0


def test_cli_parse_writes_the_runs_events(tmp_path):
    import json
    import subprocess
    out = tmp_path / "events.jsonl"
    r = subprocess.run([sys.executable, "-m", "analyzer", "parse", str(REAL.parent), "-o",
                        str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert events[0]["type"] == "run_start" and events[0]["source"] == "tensorboard"
    assert sum(e["type"] == "eval" for e in events) == 4
    back = load(out)
    assert back.iters["loss"].equals(load(REAL).iters["loss"])
