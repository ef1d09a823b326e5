"""What a crash leaves at the end of events.jsonl -- a cut last line (a full disk, a kill in
the middle of a large write) or a block of NUL bytes (a power cut on a filesystem with
delayed allocation) -- costs at most that line: the run still loads, and a resume that
appends to the file is read in full."""
from __future__ import annotations

import json

import pytest

import analyzer
from tests.conftest import tiny_config
from tests.reliability._proc import read_file_events
from trainer.train import load_run_config, train


@pytest.fixture
def tiny(tmp_path):
    return tiny_config(tmp_path / "logs", max_iters=8, lr_decay_iters=16, eval_interval=4,
                       eval_iters=2, always_save_checkpoint=True, run_id="r")


def _resume(run_dir, max_iters=16):
    return train(load_run_config(run_dir).replace(max_iters=max_iters), resume_dir=run_dir,
                 stdout=None)


CRASH_TAILS = {
    "cut line": lambda line: line[: len(line) // 2],
    "NUL block": lambda line: b"\0" * 4096,
    "cut line then NULs": lambda line: line[:40] + b"\0" * 600,
}


@pytest.mark.parametrize("damage", list(CRASH_TAILS))
def test_a_crash_tail_costs_one_line_and_the_resume_is_read(tiny, damage):
    first = train(tiny, stdout=None)
    path = first.run_dir / "events.jsonl"
    clean = path.read_bytes()
    before, _, _ = read_file_events(path)
    iter_line = next(line for line in clean.splitlines() if b'"type":"iter"' in line)
    with open(path, "ab") as f:  # the crash: a last write that never finished
        f.write(CRASH_TAILS[damage](iter_line))

    analyzer.load(first.run_dir)  # still a run, before any resume
    _resume(first.run_dir)
    events, bad, tail = read_file_events(path)
    assert tail == b"" and len(bad) == 1  # the damage is one unreadable line, nothing more
    assert events[: len(before)] == before
    resume = events[len(before)]
    assert resume["type"] == "resume" and resume["from_step"] == 8

    r = analyzer.load(first.run_dir)
    assert [s["kind"] for s in r.segments] == ["run_start", "resume"]
    assert r.stats.skipped == 1 and r.end["status"] == "completed"
    assert r.iters["step"].max() == 15


def test_nul_padding_after_the_last_event_is_not_binary(tiny):
    run = train(tiny, stdout=None)
    path = run.run_dir / "events.jsonl"
    want = analyzer.load(path)
    with open(path, "ab") as f:
        f.write(b"\0" * 8192)
    got = analyzer.load(path)
    assert len(got.iters) == len(want.iters) and got.end == want.end


def test_a_real_binary_file_is_still_refused(tmp_path):
    path = tmp_path / "ckpt.log"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(analyzer.LoadError, match="binary") as e:
        analyzer.load(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_resume_event_is_never_glued_to_a_cut_line(tiny):
    first = train(tiny, stdout=None)
    path = first.run_dir / "events.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"type":"iter","v":1,"run_id":"r","ti')
    _resume(first.run_dir)
    lines = path.read_bytes().split(b"\n")
    cut = next(i for i, line in enumerate(lines) if line.endswith(b'"ti'))
    assert json.loads(lines[cut + 1])["type"] == "resume"
