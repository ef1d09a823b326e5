"""Follower: appended bytes only, half-written lines held back, resets, every format."""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest

import analyzer
from analyzer import follow
from analyzer import parsers as registry
from analyzer.follow import Follower, LazyEvents
from analyzer.run import ITER_COLUMNS
from gptscope.schema import dumps, make_event
from tests.analyzer.test_load import FAKE, fake_log

START = dict(config={}, model={}, device="cpu", dtype="float32", world_size=1,
             peak_flops_source="unknown", source="gptscope")


def start(run_id: str = "r") -> str:
    return dumps(make_event("run_start", run_id, 0, 1.0, **START)) + "\n"


def iters(steps: range, run_id: str = "r") -> str:
    return "".join(dumps(make_event("iter", run_id, s, 10.0 + s, loss=4.0 - s / 100,
                                    dt_ms=12.5)) + "\n" for s in steps)


def append(path, text: str | bytes) -> None:
    with open(path, "ab") as f:
        f.write(text.encode() if isinstance(text, str) else text)


@pytest.fixture
def fake():
    registry.register(FAKE)
    yield FAKE
    registry.unregister("fake")


def assert_same_as_load(f: Follower) -> None:
    """What was followed equals reading the file at once."""
    got, want = f.run, analyzer.load(f.path)
    for name in ("iters", "evals", "metrics", "checkpoints", "anomalies"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))
    assert got.segments == want.segments and got.meta == want.meta


def test_reads_only_what_was_appended(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(start() + iters(range(3)))
    f = Follower(tmp_path)  # a run directory stands for its events.jsonl
    up = f.poll()
    assert up.format == "gptscope" and not up.reset
    assert [e["type"] for e in up.new_events] == ["run_start", "iter", "iter", "iter"]
    assert len(f.poll().new_events) == 0 and not f.poll().changed
    append(path, iters(range(3, 5)))
    up = f.poll()
    assert [e["step"] for e in up.new_events] == [3, 4] and up.changed
    assert f.offset == path.stat().st_size
    assert_same_as_load(f)
    assert list(f.run.iters.columns) == ITER_COLUMNS


def test_half_written_line_is_held_back(tmp_path):
    path = tmp_path / "events.jsonl"
    line = iters(range(1, 2))
    path.write_text(start() + iters(range(1)) + line[:25])
    f = Follower(path)
    assert len(f.poll().new_events) == 2
    assert f.run.stats.skipped == 0  # not a bad line: it is still being written
    append(path, line[25:-1])
    assert len(f.poll().new_events) == 0
    append(path, "\n")
    up = f.poll()
    assert [e["step"] for e in up.new_events] == [1] and f.run.stats.skipped == 0


def test_truncation_starts_over(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(start() + iters(range(10)))
    f = Follower(path)
    f.poll()
    path.write_text(start("second") + iters(range(2), "second"))  # same inode, shorter
    up = f.poll()
    assert up.reset and [e["run_id"] for e in up.new_events] == ["second"] * 3
    assert f.run.iters["step"].tolist() == [0, 1] and f.run.meta["run_id"] == "second"


def test_rewrite_in_place_to_a_longer_file_is_noticed(tmp_path):
    path = tmp_path / "train.log"
    path.write_text(start() + iters(range(3)))
    f = Follower(path)
    f.poll()
    with open(path, "r+") as fh:  # same inode, never shorter than what was read
        fh.write(start("again") + iters(range(6), "again"))
    up = f.poll()
    assert up.reset and f.run.meta["run_id"] == "again" and len(f.run.iters) == 6


def test_replacement_starts_over(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(start() + iters(range(5)))
    f = Follower(path)
    f.poll()
    new = tmp_path / "new.jsonl"
    new.write_text(start("new") + iters(range(8), "new"))  # longer: only the inode tells
    os.replace(new, path)
    up = f.poll()
    assert up.reset and f.run.meta["run_id"] == "new" and len(f.run.iters) == 8


def test_deleted_file_clears_state_without_crashing(tmp_path):
    path = tmp_path / "events.jsonl"
    f = Follower(path)
    up = f.poll()  # not there yet
    assert up.missing and not up.reset and f.run is None and "no such file" in up.error
    path.write_text(start() + iters(range(4)))
    assert len(f.poll().new_events) == 5 and f.error is None
    path.unlink()
    up = f.poll()
    assert up.missing and up.reset and f.run is None
    assert f.error == f"{path}: no such file"
    path.write_text(start() + iters(range(2)))
    up = f.poll()
    assert not up.missing and len(up.new_events) == 3 and len(f.run.iters) == 2


def test_segments_resume_and_second_run(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(start() + iters(range(5)))
    f = Follower(path)
    f.poll()
    append(path, dumps(make_event("resume", "r", 3, 2.0, from_step=3, checkpoint="ck.pt"))
           + "\n" + iters(range(3, 6)))
    f.poll()
    append(path, start("s") + iters(range(2), "s"))
    f.poll()
    run = f.run
    assert [s["kind"] for s in run.segments] == ["run_start", "resume", "run_start"]
    assert run.iters["segment"].tolist() == [0] * 5 + [1] * 3 + [2] * 2
    assert_same_as_load(f)


def test_frames_handed_out_stay_as_they_were(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(start() + iters(range(3)))
    f = Follower(path)
    f.poll()
    before = f.run.iters
    before.loc[0, "loss"] = -1.0  # a caller writing into its frame changes only its copy
    append(path, iters(range(3, 6)))
    f.poll()
    assert len(before) == 3 and len(f.run.iters) == 6
    assert f.run.iters["loss"].iloc[0] == 4.0


def test_big_backlog_is_read_by_the_fast_reader_with_the_same_result(tmp_path, monkeypatch):
    monkeypatch.setattr(follow, "_BULK", 2000)
    monkeypatch.setattr(follow, "_READ", 5000)      # several reads to catch up
    path = tmp_path / "events.jsonl"
    text = start() + iters(range(200)) + dumps(make_event(
        "eval", "r", 200, 3.0, train_loss=1.0, val_loss=1.2)) + "\n" + iters(range(200, 300))
    path.write_text(text)
    f = Follower(path)
    up = f.poll()
    assert isinstance(up.new_events, LazyEvents) and len(up.new_events) == 302
    assert list(up.new_events) == [json.loads(line) for line in text.splitlines()]
    assert_same_as_load(f)
    append(path, iters(range(300, 303)))
    assert [e["step"] for e in f.poll().new_events] == [300, 301, 302]


def test_any_format_is_detected_once_enough_lines_are_there(tmp_path, fake):
    path = tmp_path / "train.log"
    path.write_text("booting\nSTEP 0 LOSS 2.0\n")
    f = Follower(path)
    up = f.poll()  # one step line: not sure yet, nothing is lost by waiting
    assert up.format is None and f.run is None and len(up.new_events) == 0
    append(path, fake_log(range(1, 4)))
    up = f.poll()
    assert up.format == "fake" and [e["step"] for e in up.new_events if e["type"] == "iter"] \
        == [0, 1, 2, 3]
    assert f.run.stats.skipped == 1 and f.run.stats.samples[0][0] == 1  # 'booting', line 1
    append(path, "RESTART\n" + fake_log(range(2)))
    f.poll()
    assert f.run.iters["segment"].tolist() == [0, 0, 0, 0, 1, 1]
    assert f.lineno == 9


def test_unknown_format_is_reported_after_enough_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "LONG_HEAD_LINES", 400)
    path = tmp_path / "notes.txt"
    path.write_text("hello\n" * 100)
    f = Follower(path)
    assert f.poll().error is None  # maybe the training lines are still to come
    append(path, "hello\n" * 400)
    up = f.poll()
    assert "not a training log in a known format (tried: gptscope" in up.error
    assert str(path) in up.error and f.run is None


def test_finish_reads_a_last_line_without_newline(tmp_path, fake):
    path = tmp_path / "train.log"
    path.write_text("STEP 0 LOSS 2.0\nSTEP 1 LOSS 1.9")  # too little to be sure, and cut
    f = Follower(path)
    assert f.poll().format is None
    up = f.finish()  # the writer is done: decide with what there is
    assert up.format == "fake" and f.run.iters["step"].tolist() == [0, 1]


@pytest.mark.parametrize("last, steps", [(iters(range(3, 4))[:-1], [0, 1, 2, 3]),
                                         (iters(range(3, 4))[:30], [0, 1, 2])])
def test_finish_on_our_events_reads_a_whole_last_event_and_ignores_a_cut_one(
        tmp_path, last, steps):
    path = tmp_path / "events.jsonl"
    path.write_text(start() + iters(range(3)) + last)
    f = Follower(path)
    f.poll()
    up = f.finish()
    assert f.run.iters["step"].tolist() == steps and f.run.stats.skipped == 0
    assert len(up.new_events) == len(steps) - 3
    assert f.run.stats.lines == analyzer.load(path).stats.lines


def test_big_foreign_backlog_is_caught_up_at_once_then_followed(tmp_path, monkeypatch):
    from analyzer.parsers import nanogpt
    monkeypatch.setattr(follow, "_BULK", 1000)
    real, calls = nanogpt.read_bulk, []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)
    monkeypatch.setattr(nanogpt, "read_bulk", spy)
    path = tmp_path / "train.log"
    lines = ["tokens per iteration will be: 8,192\n"]
    for i in range(120):
        if i % 50 == 0:
            lines.append(f"step {i}: train loss {3 - i / 100:.4f}, "
                         f"val loss {3.1 - i / 100:.4f}\n")
        lines.append(f"iter {i}: loss {3 - i / 100:.4f}, time {20 + i % 3:.2f}ms, mfu 1.00%\n")
    path.write_text("".join(lines[:100]))
    f = Follower(path)
    up = f.poll()
    # the backlog went through the vectorised reader
    assert calls == [{"run_id": "train", "first_lineno": 1, "final": False}]
    assert len(up.new_events) == len(f.run.iters) + len(f.run.evals) + 1  # + run_start
    assert [e["step"] for e in up.new_events if e["type"] == "iter"] == \
        f.run.iters["step"].tolist()
    append(path, "".join(lines[100:]))
    new = f.poll().new_events
    assert [e["step"] for e in new if e["type"] == "iter"] == \
        [int(line.split()[1][:-1]) for line in lines[100:] if line.startswith("iter")]
    assert len(calls) == 1  # only the backlog: then line by line
    assert_same_as_load(f)


def test_nanogpt_stdout_followed_equals_loaded(tmp_path):
    path = tmp_path / "train.log"
    header = "tokens per iteration will be: 16,384\nnumber of parameters: 10.65M\n"
    lines = [f"iter {i}: loss {4 - i / 100:.4f}, time {20 + i % 3:.2f}ms, mfu 1.00%\n"
             for i in range(30)]
    path.write_text(header + "".join(lines[:10]) + lines[10][:12])
    f = Follower(path)
    f.poll()
    assert f.format == "nanogpt" and len(f.run.iters) == 10
    append(path, lines[10][12:] + "step 11: train loss 3.9, val loss 4.0\n" +
           "".join(lines[11:]))
    f.poll()
    assert len(f.run.iters) == 30 and len(f.run.evals) == 1
    assert_same_as_load(f)


def _real_files():
    from tests.analyzer.test_load import _real_files as files
    return files()


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_log_followed_in_pieces_equals_loaded(path, tmp_path, realdata):
    """Written in three pieces cut mid-line, followed, the run is the one load() reads."""
    data = path.read_bytes()
    copy = tmp_path / path.name
    copy.write_bytes(b"")
    f = Follower(copy)
    for cut in (len(data) // 7, len(data) // 2 + 3, len(data)):
        with open(copy, "ab") as fh:
            fh.write(data[copy.stat().st_size:cut])
        assert not f.poll().reset
    f.finish()
    got, want = f.run, analyzer.load(copy)
    assert got.format == want.format
    for name in ("iters", "evals", "metrics", "checkpoints", "anomalies"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
    assert got.segments == want.segments


@pytest.mark.parametrize("ranked, expected", [
    ([(0.95, "a"), (0.6, "b")], "a"),      # a training line: sure
    ([(0.6, "a"), (0.0, "b")], "a"),       # a header hint only one format has
    ([(0.6, "a"), (0.3, "b")], None),      # hints of two formats: wait for more lines
    ([(0.3, "a"), (0.0, "b")], None),
    ([], None),
])
def test_early_detection_waits_for_an_unambiguous_answer(ranked, expected):
    assert follow._early(ranked) == expected


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_real_log_is_never_taken_for_another_format_while_it_starts(path, tmp_path,
                                                                      realdata):
    """Written ten lines at a time, a log's format is unknown or right, never wrong."""
    lines = path.read_bytes().splitlines(keepends=True)[:300]
    copy = tmp_path / path.name
    copy.write_bytes(b"")
    f = Follower(copy)
    want = analyzer.load(path).format
    for i in range(0, len(lines), 10):
        with open(copy, "ab") as fh:
            fh.write(b"".join(lines[i:i + 10]))
        assert f.poll().format in (None, want)


def test_a_format_that_reads_no_step_gives_way_to_the_generic_reader_as_in_load(tmp_path):
    """llm.c's parameter table, then a fork's own step lines that llm.c's parser does not
    read: load() falls back to the generic reader; following the file gives the same Run
    (the switch is announced as a reset)."""
    import analyzer
    from analyzer.follow import Follower
    path = tmp_path / "train.log"
    head = ("+-----------------------+----------------------------------------------------+\n"
            "| Parameter             | Value                                              |\n"
            "+-----------------------+----------------------------------------------------+\n"
            "| train data pattern    | dev/data/tinyshakespeare/tiny_shakespeare_train.bin |\n"
            "| max_seq_len T         | 1024                                               |\n"
            "+-----------------------+----------------------------------------------------+\n")
    steps = "".join(f"iteration {i} | loss {4 - i / 10:.4f} | dt 100.0ms\n" for i in range(1, 40))
    path.write_text(head + steps)
    want = analyzer.load(path)
    assert want.format == "generic" and len(want.iters) == 39
    f = Follower(path)
    ups = [f.poll(), f.finish()]
    assert f.format == "generic" and len(f.run.iters) == 39
    assert any(u.reset for u in ups) or ups[0].format == "generic"


def test_evals_alone_do_not_keep_a_format_that_reads_no_step(tmp_path):
    """A nanoGPT eval line, then a llama2.c-style step line nanoGPT does not read: load()
    falls back to the generic reader (it counts iterations, not evals); so does a Follower."""
    import analyzer
    path = tmp_path / "train.log"
    path.write_text("step 100000: train loss nan, val loss nan\n"
                    "100000 | loss nan | lr 1.000000e-04 | 2006.12ms | mfu 1.68%\n")
    want = analyzer.load(path)
    f = Follower(path)
    f.poll()
    f.finish()
    assert (f.format, len(f.run.iters)) == (want.format, len(want.iters)) == ("generic", 1)


def test_a_weak_first_guess_gives_way_to_the_format_further_down_as_in_load(tmp_path):
    """torchrun's banner (build-nanogpt's weak 0.25), then more noise than the detection's
    first lines, then Hugging Face Trainer dicts: the guess reads no step, so the format
    that does is asked next, by its confidence over the long head; following the file
    gives the same Run."""
    import analyzer
    from analyzer.follow import Follower
    path = tmp_path / "output.log"
    head = ("W0117 11:46:44.811000 torch/distributed/run.py:793] Setting OMP_NUM_THREADS "
            "environment variable for each process to be 1 in default\n"
            + "".join(f"node1:1:{i} [0] NCCL INFO Channel {i:02d}/32 : 0 1 2 3 4 5\n"
                      for i in range(400)))
    dicts = "".join(f"{{'loss': {10.5 - i:.4f}, 'grad_norm': 1.2, 'learning_rate': 0.0003, "
                    f"'epoch': {0.24 * (i + 1):.2f}}}\n" for i in range(4))
    path.write_text(head + dicts)
    want = analyzer.load(path)
    assert want.format == "hf_trainer" and list(want.iters["loss"]) == [10.5, 9.5, 8.5, 7.5]
    f = Follower(path)
    f.poll()
    f.finish()
    assert (f.format, len(f.run.iters)) == ("hf_trainer", 4)
