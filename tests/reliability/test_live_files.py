"""The analyzer, the Follower and the dashboard's logic keep working while a run is written
under them -- in pieces that cut lines anywhere -- and while it is truncated, rotated and
deleted; and while a real trainer is killed and resumed. Nothing raises; when the file
settles, what the dashboard shows is what ``load`` reads."""
from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

import analyzer
from analyzer.loader import LoadError
from app import logic, series
from app.discovery import discover
from app.live import LiveRegistry
from app.views.common import run_file
from gptscope.schema import dumps
from tests.app import _runs as R
from tests.reliability._proc import TINY, Trainer, count, wait_until

FRAMES = ("iters", "evals", "metrics", "checkpoints", "anomalies")


class _Ctx:
    """What app.views.common.run_file needs of the page context, without Streamlit."""

    def __init__(self, root):
        self.root = root

    def resolve(self, name):
        from app.paths import resolve_inside
        return resolve_inside(self.root, name)


def _look(reg: LiveRegistry, root, path, errors: list) -> None:
    """What a dashboard tick does for one run: list, follow, summarise, chart; and what the
    analyzer CLI does: load. Failing to read is fine (a message); raising is not."""
    discover(root)
    t = reg.refresh(path)
    run = t.run
    if run is not None:
        rf = run_file(_Ctx(root), path.relative_to(root).as_posix())
        if rf is not None:
            logic.summarize(run, rf, time.time())
        for spec in series.CHARTS:
            series.chart_points(run, "r", spec, "step", 0.6)
        series.chart_points(run, "r", series.CHARTS[0], "time", 0.0)
    try:
        analyzer.load(path)
    except LoadError as e:  # missing, empty, half-written: one line naming the file
        assert "\n" not in str(e) and str(path) in str(e)
        errors.append(str(e))


def _settled_equal(reg: LiveRegistry, path) -> None:
    t = reg.refresh(path)
    deadline = time.monotonic() + 10
    want = analyzer.load(path)
    while time.monotonic() < deadline:
        t = reg.refresh(path)
        if t.run is not None and len(t.run.iters) == len(want.iters):
            break
        time.sleep(0.05)
    got = t.run
    for name in FRAMES:
        a, b = getattr(got, name), getattr(want, name)
        assert a.reset_index(drop=True).equals(b.reset_index(drop=True)), name
    assert got.segments == want.segments and got.end == want.end


def _writer(path, chunks, stop: threading.Event, rng: random.Random) -> None:
    """Append the chunks; between them truncate, rotate or delete the file at random."""
    for i, chunk in enumerate(chunks):
        if stop.is_set():
            return
        roll = rng.random()
        if i and roll < 0.04:
            os.truncate(path, 0)
        elif i and roll < 0.08 and path.exists():
            os.replace(path, path.with_name("events.jsonl.1"))    # rotation
        elif i and roll < 0.12 and path.exists():
            path.unlink()
        with open(path, "ab") as f:
            f.write(chunk)
        time.sleep(rng.uniform(0, 0.01))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dashboard_and_analyzer_while_a_file_is_written_truncated_rotated_deleted(tmp_path,
                                                                                  seed):
    rng = random.Random(seed)
    root = tmp_path / "logs"
    path = root / "r" / "events.jsonl"
    path.parent.mkdir(parents=True)
    raw = b"".join(dumps(e).encode() + b"\n" for e in R.events("r", 400, nan_at=150,
                                                              ended=True))
    cuts = sorted(rng.sample(range(1, len(raw)), 150))  # lines cut anywhere, even mid-UTF-8
    chunks = [raw[a:b] for a, b in zip([0] + cuts, cuts + [len(raw)])]
    reg = LiveRegistry(root, safety_poll_s=0.2)
    stop, errors = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(path, chunks, stop, rng), daemon=True)
    writer.start()
    looks = 0
    try:
        while writer.is_alive():
            _look(reg, root, path, errors)
            looks += 1
        _look(reg, root, path, errors)
        assert looks >= 10  # the reading really interleaved with the writing
        # the file as it ended up (a part of the run, after a rotation or truncation)
        _settled_equal(reg, path)
    finally:
        stop.set()
        writer.join(10)
        reg.stop()


@pytest.mark.slow  # two real trainer processes
def test_dashboard_and_analyzer_while_a_real_run_is_killed_and_resumed(tmp_path):
    root = tmp_path / "logs"
    path = root / "r" / "events.jsonl"
    reg = LiveRegistry(root, safety_poll_s=0.2)
    errors: list = []
    try:
        with Trainer(tmp_path, [*TINY, f"--out_dir={root}", "--run_id=r",
                                "--max_iters=100000"]) as tr:
            wait_until(lambda: path.exists(), tr)
            while count(path, b'"type":"iter"') < 60:
                _look(reg, root, path, errors)
                assert tr.proc.poll() is None, tr.stderr
            tr.kill(signal.SIGKILL)
        _look(reg, root, path, errors)
        killed = reg.refresh(path).run
        assert killed.end is None  # no run_end: a killed run, shown as stalled once silent
        with Trainer(tmp_path, [f"--resume={root / 'r'}", "--max_iters=80"], name="resume") as tr:
            while tr.proc.poll() is None:
                _look(reg, root, path, errors)
            assert tr.proc.returncode == 0, tr.stderr
        _settled_equal(reg, path)
        run = reg.refresh(path).run
        assert [s["kind"] for s in run.segments] == ["run_start", "resume"]
        assert run.end["status"] == "completed"
        rf = run_file(_Ctx(root), "r/events.jsonl")
        assert logic.summarize(run, rf, time.time()).status == "completed"
    finally:
        reg.stop()
