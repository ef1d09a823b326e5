"""Property tests (hypothesis) on the events readers: gptscope.schema.read_events, the JSONL
parser (simple and columnar fast reader, through ``load``) and the Follower.

Events with hostile values (negative, repeated and 30-digit steps, nan/inf, 400-digit
numbers, odd strings, extra fields, any key order) are mixed with garbage (random bytes,
NULs, cut and spliced event lines, CRLF, other encodings, huge lines): the readers never
crash, never take garbage for an event, and give back every original event -- the Run read
from the dirty file equals the Run built from the events themselves. A Follower reading the
file while it is written in random pieces, truncated, rotated or deleted ends with the same
Run as ``load``.
"""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import analyzer
from analyzer.follow import Follower
from analyzer.loader import LoadError
from analyzer.parsers import jsonl
from analyzer.run import Run
from gptscope.schema import BadLine, dumps, make_event, read_events, validate
from tests.analyzer._parse_util import jsonl_run
from tests.reliability.fuzzing import GARBAGE, NUMBERS, Timer, count, fuzz, log_bytes

FRAMES = ("iters", "evals", "metrics", "checkpoints", "anomalies")

# ------------------------------------------------------------------------------ events

STEPS = st.one_of(st.integers(-5, 5000), st.integers(-2**63, 2**63 - 1), st.integers(),
                  st.none())
FLOATS = st.one_of(st.floats(), st.integers(-10**6, 10**6), st.integers(), st.none())
TEXT = st.one_of(st.text(max_size=30), st.sampled_from(
    ["<script>alert(1)</script>", "nan", "\u202e\u0000", "a\nb", '"', "\\", "é漢"]))


@st.composite
def events(draw, run_id: str = "r") -> dict:
    etype = draw(st.sampled_from(["iter"] * 6 + ["eval", "metric", "checkpoint", "anomaly",
                                                 "resume", "run_start", "run_end"]))
    step = draw(STEPS)
    if etype == "iter":
        f = {k: draw(FLOATS) for k in ("loss", "lr", "grad_norm", "dt_ms", "step_ms",
                                       "tokens_per_s", "mfu", "mfu_smoothed")}
        f["eval_inclusive"] = draw(st.booleans())
        if draw(st.booleans()):
            f.update(step_ms_min=draw(FLOATS), step_ms_max=draw(FLOATS),
                     slowest_rank=draw(st.one_of(st.none(), st.integers(0, 64))))
    elif etype == "eval":
        f = {k: draw(FLOATS) for k in ("train_loss", "val_loss", "eval_ms", "best_val_loss")}
    elif etype == "metric":
        f = {"name": draw(TEXT), "value": draw(FLOATS)}
    elif etype == "checkpoint":
        f = {"path": draw(TEXT), "val_loss": draw(FLOATS)}
    elif etype == "anomaly":
        f = {"kind": draw(st.sampled_from(["nonfinite_loss", "nonfinite_grad"])),
             "value": draw(st.sampled_from(["nan", "inf", "-inf"])),
             "action": draw(st.sampled_from(["continue", "skip", "stop"]))}
    elif etype == "resume":
        f = {"from_step": draw(st.integers(-5, 10**6)), "checkpoint": draw(st.none() | TEXT)}
    elif etype == "run_start":
        # nested values must be JSON already (make_event cleans only top-level floats)
        finite = st.floats(allow_nan=False, allow_infinity=False) | st.integers() | TEXT
        f = {"config": draw(st.dictionaries(TEXT, finite, max_size=4)),
             "model": {"n_layer": 2}, "device": "cpu", "dtype": "float32", "world_size": 1,
             "peak_flops_source": "unknown", "source": draw(TEXT),
             "tokens_per_iter": draw(st.none() | st.integers(0, 10**9))}
    else:
        f = {"status": draw(st.sampled_from(["completed", "failed", "interrupted"])),
             "error": draw(st.none() | TEXT), "steps": draw(st.none() | st.integers())}
    ev = make_event(etype, run_id, step, draw(st.floats(0, 4e9)), **f)
    if draw(st.integers(0, 9)) == 0:  # a newer writer's extra field, or another key order
        ev = dict(reversed(list(ev.items()))) if draw(st.booleans()) else {**ev, "x": [1]}
    return ev


def sample_lines() -> list[bytes]:
    """Event lines of a small made-up run, in our writer's layout (for the parser fuzzing)."""
    evs = [make_event("run_start", "r", 0, 1.0, config={"lr": 1e-3}, model={}, device="cpu",
                      dtype="float32", world_size=1, peak_flops_source="unknown",
                      source="gptscope")]
    for s in range(40):
        if s % 10 == 0:
            evs.append(make_event("eval", "r", s, 2.0 + s, train_loss=4.0, val_loss=4.1,
                                  eval_ms=3.0, best_val_loss=4.1))
            evs.append(make_event("checkpoint", "r", s, 2.0 + s, path="ckpt.pt",
                                  val_loss=4.1))
        evs.append(make_event("iter", "r", s, 2.5 + s, loss=4.0 - s / 40, lr=1e-3,
                              grad_norm=0.5, dt_ms=12.5, step_ms=11.0, eval_inclusive=s == 0,
                              tokens_per_s=1e4, mfu=0.1, mfu_smoothed=None))
    evs.append(make_event("anomaly", "r", 7, 9.0, kind="nonfinite_loss", value="nan",
                          action="skip"))
    evs.append(make_event("resume", "r", 20, 60.0, from_step=20, checkpoint="ckpt.pt"))
    evs.append(make_event("run_end", "r", 40, 99.0, status="completed", error=None,
                          steps=40, wall_s=98.0))
    return [dumps(e).encode() for e in evs]


LINES = sample_lines()


def _same_run(a: Run, b: Run) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True,
                                      obj=name)
    assert a.meta == b.meta and a.segments == b.segments and a.end == b.end


# ------------------------------------------------------------------------------ properties

@fuzz()
@given(st.lists(st.one_of(st.binary(max_size=400), st.text(max_size=200)), max_size=30))
def test_schema_read_events_never_raises(lines):
    with Timer():
        out = list(read_events(lines))
    for item in out:
        if isinstance(item, BadLine):
            assert 1 <= item.lineno <= len(lines) and "\n" not in item.problem
        else:
            assert validate(item) == []
    count("jsonl/read_events")


def validate_line(line: bytes) -> dict | None:
    try:
        ev = json.loads(line)
    except ValueError:
        return None
    return ev if not validate(ev) else None


def _garbage_line(data) -> bytes:
    other = data.draw(st.sampled_from(LINES))
    return data.draw(st.one_of(
        GARBAGE,
        st.just(other[:data.draw(st.integers(1, len(other) - 1))]),        # cut
        st.just(other[:data.draw(st.integers(1, len(other) - 1))] + other),  # spliced
        st.sampled_from([b"{}", b"[]", b"null", b'{"type":"iter"}', b'{"type":1}',
                         b'{"type":"run_end","v":1,"run_id":"r","time":1,"step":1,'
                         b'"status":"exploded","error":null,"steps":1,"wall_s":1}',
                         "{\"type\":\"iter\"}".encode("utf-16")])))


@pytest.mark.slow  # ~15 s: a file written and read twice per example
@fuzz()
@given(st.lists(events(), max_size=40), st.data())
def test_garbage_around_events_loses_none_of_them(tmp_path_factory, evs, data):
    """Every original event comes back, garbage lines are counted as skipped, never read."""
    marked = [(dumps(e).encode(), True) for e in evs]
    n_garbage = data.draw(st.integers(0, 10))
    for _ in range(n_garbage):
        marked.insert(data.draw(st.integers(0, len(marked))), (_garbage_line(data), False))
    lines = [line for line, _ in marked]
    ends = data.draw(st.sampled_from([b"\n", b"\r\n"]))
    raw = ends.join(lines) + ends
    path = tmp_path_factory.mktemp("dirty") / "events.jsonl"
    path.write_bytes(raw)
    want = Run.from_events(evs, "gptscope")
    with Timer():
        got = jsonl_run(path.read_bytes())  # what load() runs on a file of ours
    _same_run(got, want)
    assert got.stats.parsed == len(evs)
    assert got.stats.skipped == n_garbage
    count("jsonl/recover")
    count("events recovered", len(evs))
    try:
        _same_run(analyzer.load(path, format="gptscope"), want)
    except LoadError as e:  # only junk through the first kilobytes makes a file "binary"
        assert str(e).startswith(str(path)) and "\n" not in str(e)
        if not evs:  # nothing to read: a one-line error is the right answer
            return
        junk, pos = 0, 0
        for line, is_event in marked:
            if not is_event:
                junk += max(0, min(pos + len(line), 8192) - pos)
            pos += len(line) + len(ends)
        assert "binary" in str(e) and junk >= min(pos, 8192) // 4, (str(e), junk)
        count("jsonl/recover/binary-head")


@pytest.mark.slow  # ~10 s: huge lines through both readers
@fuzz()
@given(st.data())
def test_fast_reader_equals_simple_reader_on_damaged_files(data):
    raw = data.draw(log_bytes(LINES, max_lines=80))
    if data.draw(st.booleans()):  # JSON's own odd numbers, where values go
        num = data.draw(st.sampled_from(NUMBERS + ["NaN", "Infinity", "-Infinity", "1" * 400]))
        raw = raw.replace(b'"loss":4', b'"loss":' + num.encode())
    with Timer():
        fast = jsonl_run(raw)
    parser = jsonl.Parser()
    text_lines = raw.decode("utf-8", errors="replace").split("\n")
    evs = []
    for i, line in enumerate(text_lines[:-1]):
        evs += parser.feed([line.removesuffix("\r")], i + 1)
    last = jsonl.parse_line(text_lines[-1], len(text_lines), jsonl.Parser().stats)
    slow = Run.from_events(evs + ([last] if last is not None else []), "gptscope")
    _same_run(fast, slow)
    count("jsonl/fast=simple")


def _write_in_pieces(path, raw: bytes, cuts: list[int], follower: Follower) -> None:
    pos = 0
    for cut in sorted(c % (len(raw) + 1) for c in cuts) + [len(raw)]:
        with open(path, "ab") as f:
            f.write(raw[pos:cut])
        pos = cut
        follower.poll()


@fuzz(0.5)
@given(st.lists(events(), min_size=1, max_size=30), st.data())
def test_follower_while_written_truncated_rotated_or_deleted(tmp_path_factory, evs, data):
    lines = [dumps(e).encode() for e in evs]
    for _ in range(data.draw(st.integers(0, 4))):
        lines.insert(data.draw(st.integers(0, len(lines))), _garbage_line(data))
    raw = b"\n".join(lines) + b"\n"
    folder = tmp_path_factory.mktemp("follow")
    path = folder / "events.jsonl"
    path.write_bytes(b"")
    follower = Follower(path)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=8))
    what = data.draw(st.sampled_from(["write", "truncate", "rotate", "delete"]))
    with Timer():
        if what != "write":  # a first version of the file, then it goes away or restarts
            first = data.draw(st.lists(events(), min_size=1, max_size=10))
            _write_in_pieces(path, b"".join(dumps(e).encode() + b"\n" for e in first),
                             cuts[:2], follower)
            if what == "truncate":
                os.truncate(path, 0)
            elif what == "rotate":
                path.rename(folder / "events.jsonl.1")
            else:
                path.unlink()
            up = follower.poll()
            assert up.reset or up.missing
            path.touch()
        _write_in_pieces(path, raw, cuts, follower)
        follower.finish()
    _same_run(follower.run, jsonl_run(path.read_bytes()))
    count("jsonl/follower")


def test_numbers_beyond_int64_and_float_are_not_fatal(tmp_path):
    """What fuzzing found: a 30-digit step or a 400-digit loss crashed every reader."""
    base = {"type": "iter", "v": 1, "run_id": "r", "time": 1.0, "lr": 0.1, "grad_norm": 1.0,
            "dt_ms": 1.0, "step_ms": 1.0, "eval_inclusive": False, "tokens_per_s": 1.0,
            "mfu": None, "mfu_smoothed": None}
    evs = [{**base, "step": 10**30, "loss": 1.0}, {**base, "step": 2**62 + 1, "loss": 10**400},
           {**base, "step": None, "loss": -10**400}, {**base, "step": 3, "loss": 2.0},
           make_event("eval", "r", -10**30, 1.0, train_loss=10**400, val_loss=1.0)]
    raw = b"".join(json.dumps(e).encode() + b"\n" for e in evs)
    path = tmp_path / "events.jsonl"
    path.write_bytes(raw)
    for run in (Run.from_events(evs, "gptscope"), analyzer.load(path),
                jsonl_run(raw)):
        it = run.iters
        assert it["step"].tolist() == [pd.NA, 2**62 + 1, pd.NA, 3]  # beyond int64: no step
        assert it["loss"].tolist() == [1.0, float("inf"), float("-inf"), 2.0]
        assert run.evals["step"].isna().all() and run.evals["train_loss"].tolist() == [
            float("inf")]
    follower = Follower(path)
    follower.finish()
    _same_run(follower.run, Run.from_events(evs, "gptscope"))
