"""Faults injected into a real ``python -m trainer run``: SIGTERM/SIGINT in the middle of a
checkpoint write, non-finite losses and weights (nan_policy), a disk that fills up while
the events or a checkpoint are written, a read-only logs directory.

Each fault ends with a clear one-line error (or a clean interrupted exit), a checkpoint
that loads, and events that the analyzer reads."""
from __future__ import annotations

import json
import signal
import time

import pytest
import torch

import analyzer
from analyzer.diagnostics import run_all
from gptscope.schema import dumps, make_event, validate
from tests.conftest import tiny_config
from tests.reliability._proc import TINY, Trainer, count, read_file_events, wait_until
from trainer import checkpoint as ckpt_io
from trainer.train import train

pytestmark = pytest.mark.slow  # real processes: a few seconds each


def _args(logs, *extra: str) -> list[str]:
    return [*TINY, f"--out_dir={logs}", "--run_id=r", *extra]


def _one_line_error(tr: Trainer) -> str:
    err = tr.stderr
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err.strip()


def _fresh_tmp_write(run, tr: Trainer) -> None:
    """Wait until this process is in the middle of a (slowed) checkpoint write."""
    tmp, since = run / "ckpt.pt.tmp", time.time_ns()

    def writing() -> bool:
        try:
            return tmp.stat().st_mtime_ns >= since and tmp.stat().st_size > 0
        except FileNotFoundError:
            return False
    wait_until(writing, tr, poll=0.005)


# ------------------------------------------------------------------------------ signals

def test_sigterm_in_a_checkpoint_write_finishes_it_then_stops_cleanly(tmp_path):
    logs = tmp_path / "logs"
    run = logs / "r"
    with Trainer(tmp_path, _args(logs, "--max_iters=100000"), {"slow_checkpoint": 0.5}) as tr:
        _fresh_tmp_write(run, tr)
        tr.proc.send_signal(signal.SIGTERM)
        assert tr.wait() == 128 + signal.SIGTERM, tr.stderr
        assert "Traceback" not in tr.stderr
    events, bad, tail = read_file_events(run / "events.jsonl")
    assert not bad and not tail
    end, last_ckpt = events[-1], events[-2]
    assert end["type"] == "run_end" and end["status"] == "interrupted"
    assert last_ckpt["type"] == "checkpoint" and last_ckpt["step"] == end["steps"]
    assert ckpt_io.load(run / "ckpt.pt")["iter_num"] == end["steps"]
    assert not (run / "ckpt.pt.tmp").exists()


def test_sigterm_without_save_on_interrupt_keeps_the_last_eval_checkpoint(tmp_path):
    logs = tmp_path / "logs"
    run = logs / "r"
    with Trainer(tmp_path, _args(logs, "--max_iters=100000", "--save_on_interrupt=false")) as tr:
        wait_until(lambda: count(run / "events.jsonl", b'"type":"iter"') >= 30, tr)
        tr.proc.send_signal(signal.SIGTERM)
        assert tr.wait() == 128 + signal.SIGTERM, tr.stderr
    events, bad, tail = read_file_events(run / "events.jsonl")
    assert not bad and not tail
    end = events[-1]
    saved = [e["step"] for e in events if e["type"] == "checkpoint"]
    assert end["status"] == "interrupted" and events[-2]["type"] != "checkpoint"
    assert ckpt_io.load(run / "ckpt.pt")["iter_num"] == saved[-1] <= end["steps"]


def test_a_second_sigint_in_a_checkpoint_write_stops_at_once_keeping_the_last_one(tmp_path):
    logs = tmp_path / "logs"
    run = logs / "r"
    with Trainer(tmp_path, _args(logs, "--max_iters=100000"), {"slow_checkpoint": 1.0}) as tr:
        wait_until(lambda: (run / "ckpt.pt").exists(), tr)  # one complete checkpoint
        _fresh_tmp_write(run, tr)
        tr.proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        tr.proc.send_signal(signal.SIGINT)
        code = tr.wait()
    assert code in (128 + signal.SIGINT, -signal.SIGINT), tr.stderr
    events, bad, tail = read_file_events(run / "events.jsonl")
    assert not bad and not tail
    assert events[-1]["type"] == "run_end" and events[-1]["status"] == "interrupted"
    saved = [e["step"] for e in events if e["type"] == "checkpoint"]
    # the write that the second Ctrl-C cut short was thrown away, the one before it is kept
    assert ckpt_io.load(run / "ckpt.pt")["iter_num"] == saved[-1]
    assert not (run / "ckpt.pt.tmp").exists()


# ------------------------------------------------------------------------------ nan_policy

def test_nan_policy_stop_names_the_steps_and_keeps_the_last_finite_checkpoint(tmp_path):
    logs = tmp_path / "logs"
    run = logs / "r"
    with Trainer(tmp_path, _args(logs, "--max_iters=40", "--nan_patience=3"),
                 {"poison_steps": [9, 10, 11]}) as tr:
        assert tr.wait() == 1
        err = _one_line_error(tr)
    assert "non-finite loss for 3 consecutive steps (last at step 11" in err
    events, bad, _ = read_file_events(run / "events.jsonl")
    anomalies = [(e["step"], e["kind"], e["value"], e["action"])
                 for e in events if e["type"] == "anomaly"]
    assert anomalies == [(9, "nonfinite_loss", "nan", "skip"),
                         (10, "nonfinite_loss", "nan", "skip"),
                         (11, "nonfinite_loss", "nan", "stop")]
    assert events[-1]["status"] == "failed" and "NonFiniteError" in events[-1]["error"]
    state = ckpt_io.load(run / "ckpt.pt")
    assert state["iter_num"] == 8
    assert all(torch.isfinite(t).all() for t in state["model"].values())
    # the analyzer reads the same story: a finding at step 9, the run failed
    r = analyzer.load(run)
    assert r.anomalies["step"].tolist() == [9, 10, 11] and r.end["status"] == "failed"
    found = {f.code: f for f in run_all(r)}
    assert found["nonfinite_loss"].steps[0] == 9, found
    assert found["run_failed"].severity == "error", found


def test_nan_policy_skip_trains_on(tmp_path):
    logs = tmp_path / "logs"
    run = logs / "r"
    with Trainer(tmp_path, _args(logs, "--max_iters=24", "--nan_policy=skip"),
                 {"poison_steps": [5, 6, 7, 8, 9, 13]}) as tr:
        assert tr.wait() == 0, tr.stderr
    events, _, _ = read_file_events(run / "events.jsonl")
    skipped = [e["step"] for e in events if e["type"] == "anomaly"]
    assert skipped == [5, 6, 7, 8, 9, 13]
    assert {e["action"] for e in events if e["type"] == "anomaly"} == {"skip"}
    assert events[-1]["status"] == "completed" and events[-1]["steps"] == 24
    state = ckpt_io.load(run / "ckpt.pt")
    assert state["iter_num"] == 24
    assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    """The weights themselves go NaN (not only a loss): the eval at step 8 sees it and does
    not save; the checkpoint on disk stays the step-4 one."""
    logs = tmp_path / "logs"
    run = logs / "r"
    with Trainer(tmp_path, _args(logs, "--max_iters=40", "--nan_patience=6"),
                 {"nan_weights_at": 6}) as tr:
        assert tr.wait() == 1
        _one_line_error(tr)
    assert "checkpoint not written" in tr.stdout
    events, _, _ = read_file_events(run / "events.jsonl")
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [4]
    assert [e["step"] for e in events if e["type"] == "anomaly"] == [6, 7, 8, 9, 10, 11]
    state = ckpt_io.load(run / "ckpt.pt")
    assert state["iter_num"] == 4
    assert all(torch.isfinite(t).all() for t in state["model"].values())


# ------------------------------------------------------------------------------ disks

def test_disk_full_while_writing_events(tmp_path):
    logs = tmp_path / "logs"
    run = logs / "r"
    with Trainer(tmp_path, _args(logs, "--max_iters=40"),
                 {"enospc": {"name": "events.jsonl", "after_bytes": 6000}}) as tr:
        assert tr.wait() == 1
        err = _one_line_error(tr)
    assert str(run / "events.jsonl") in err and "No space left on device" in err
    events, bad, tail = read_file_events(run / "events.jsonl")
    assert not bad  # whole events, then the part of a line that fitted
    assert len((run / "events.jsonl").read_bytes()) == 6000
    # What fitted of the last line: part of an event, nothing (the cut fell right after a
    # newline), or a whole event without its newline (the cut fell right after its closing
    # brace). A JSON object's proper prefix never parses, so a tail that parses is a whole
    # event, and the analyzer rightly reads it; a cut one it skips.
    whole_tail = _event_or_none(tail)
    if whole_tail is not None:
        events.append(whole_tail)
    r = analyzer.load(run)
    assert len(r.iters) == sum(e["type"] == "iter" for e in events)
    if (run / "ckpt.pt").exists():
        ckpt_io.load(run / "ckpt.pt")


def _event_or_none(tail: bytes) -> dict | None:
    try:
        ev = json.loads(tail)
    except ValueError:
        return None
    assert validate(ev) == [], ev  # a complete line must be a valid event
    return ev


def test_event_or_none_tells_a_whole_event_from_a_cut_one():
    line = dumps(make_event("iter", "r", 3, 1.0, loss=2.5, lr=1e-3, dt_ms=5.0)).encode()
    assert _event_or_none(line)["step"] == 3
    assert all(_event_or_none(line[:i]) is None for i in range(len(line)))


def test_disk_full_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path):
    logs = tmp_path / "logs"
    run = logs / "r"
    with Trainer(tmp_path, _args(logs, "--max_iters=40"),
                 {"enospc": {"name": "ckpt.pt.tmp", "after_bytes": 10000,
                             "skip_opens": 1}}) as tr:
        assert tr.wait() == 1
        err = _one_line_error(tr)
    assert f"cannot write {run / 'ckpt.pt'}: No space left on device" in err
    assert ckpt_io.load(run / "ckpt.pt")["iter_num"] == 4  # the first one, whole
    assert not (run / "ckpt.pt.tmp").exists()
    events, bad, tail = read_file_events(run / "events.jsonl")
    assert not bad and not tail
    end = events[-1]
    assert end["status"] == "failed" and "No space left on device" in end["error"]


def _read_only(path) -> dict | None:
    """Make ``path`` read-only for real where the machine allows it (not as root); else the
    fault hook refuses writes under it, as a read-only mount would."""
    path.chmod(0o555)
    probe = path / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return None
    probe.unlink()
    path.chmod(0o755)
    return {"readonly": str(path)}


def test_read_only_logs_directory_is_one_clear_line(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    faults = _read_only(logs)
    try:
        with Trainer(tmp_path, _args(logs, "--max_iters=8"), faults) as tr:
            assert tr.wait() == 1
            err = _one_line_error(tr)
    finally:
        logs.chmod(0o755)
    assert err.startswith(f"error: cannot create a run directory in {logs}")
    assert not list(logs.iterdir())


def test_read_only_run_directory_on_resume_changes_nothing(tmp_path):
    cfg = tiny_config(tmp_path / "logs", max_iters=8, eval_interval=4, eval_iters=2,
                      always_save_checkpoint=True, run_id="r")
    run = train(cfg, stdout=None).run_dir
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    faults = _read_only(run)
    try:
        with Trainer(tmp_path, [f"--resume={run}", "--max_iters=16"], faults) as tr:
            assert tr.wait() == 1
            err = _one_line_error(tr)
    finally:
        run.chmod(0o755)
    assert str(run) in err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
