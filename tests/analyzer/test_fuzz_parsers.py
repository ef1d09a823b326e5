"""Property tests (hypothesis) on every parser: damaged real lines, random bytes, NULs, CR/LF
of every kind, other encodings, huge lines, numbers like nan/inf/1e999/-1/30 digits.

For every input: no exception, bounded time, only schema-valid events, consistent counts;
feeding the lines in any chunks gives the same events (what the Follower relies on); and
garbage mixed into a real log costs exactly the garbage lines: every original event is
recovered. ``load`` of such a file gives a Run or a one-line LoadError naming the file.

Example counts: tests/reliability/fuzzing.py (profile 'ci' here, 'long' in
benchmarks/fuzz_long.py).
"""
from __future__ import annotations

import json
import re
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

import analyzer
from analyzer import parsers as registry
from analyzer.loader import LoadError
from analyzer.parsers._text import decode_lines
from gptscope.schema import dumps, validate
from tests.reliability.fuzzing import (GARBAGE, Timer, count, fuzz, log_bytes, real_lines,
                                       real_logs)

STDOUT = ["nanogpt", "buildnanogpt", "llmc", "modded", "nanochat"]
ALL = ["gptscope"] + STDOUT          # format NAMEs, as the registry knows them
MODULE = {"gptscope": "jsonl", "nanogpt": "nanogpt", "buildnanogpt": "buildnanogpt",
          "llmc": "llmc", "modded": "modded", "nanochat": "nanochat"}


def _lines_of(fmt: str) -> list[bytes]:
    if fmt == "gptscope":
        from tests.analyzer.test_fuzz_jsonl import sample_lines
        return sample_lines()
    return real_lines(fmt)


LINES = {fmt: _lines_of(fmt) for fmt in ALL}


def _parse(fmt: str, lines: list[str], cuts: list[int]) -> tuple[list[dict], object]:
    """Feed ``lines`` to a fresh parser, split at ``cuts``; the events and the stats."""
    parser = registry.get(fmt).Parser(run_id="fuzz")
    events: list[dict] = []
    bounds = [0] + sorted(c % (len(lines) + 1) for c in cuts) + [len(lines)]
    for a, b in zip(bounds, bounds[1:]):
        events += parser.feed(lines[a:b], a + 1)
    events += parser.finish()
    return events, parser.stats


def _check(fmt: str, lines: list[str], events: list[dict], stats) -> None:
    for ev in events:
        assert validate(ev) == [], ev
        # an event is JSON data: it can be written as a line of events.jsonl and read back
        # as it was (no NaN/inf, no non-string keys, no tuples, nothing but JSON types)
        assert json.loads(dumps(ev)) == ev, ev
    assert stats.lines == len(lines)
    assert stats.parsed + stats.skipped <= stats.lines
    # a parser's own exception, caught by the base class, is a bug all the same
    assert not any(reason.startswith("parser error") for _, reason, _ in stats.samples), \
        stats.samples


@pytest.mark.parametrize("fmt", ALL)
@fuzz()
@given(data=st.data())
def test_damaged_input_never_crashes_a_parser(fmt, data):
    raw = data.draw(st.one_of(log_bytes(LINES[fmt]), st.binary(max_size=4000)))
    lines = decode_lines(raw)
    cuts = data.draw(st.lists(st.integers(0, 10_000), max_size=4))
    with Timer():
        events, stats = _parse(fmt, lines, cuts)
        registry.get(fmt).detect(lines[:300])
    _check(fmt, lines, events, stats)
    # streaming: any split of the same lines gives the same events and counts
    whole, whole_stats = _parse(fmt, lines, [])
    assert events == whole
    assert (stats.parsed, stats.skipped) == (whole_stats.parsed, whole_stats.skipped)
    count(f"parsers/damaged/{fmt}")


@pytest.mark.parametrize("fmt", ALL)
@fuzz(0.5)
@given(data=st.data())
def test_detection_never_crashes(fmt, data):
    raw = data.draw(log_bytes(LINES[fmt], max_lines=40))
    lines = decode_lines(raw)
    score = registry.get(fmt).detect(lines)
    assert 0.0 <= float(score) <= 1.0
    name = registry.detect(lines)
    assert name is None or name in registry.names()
    count(f"parsers/detect/{fmt}")


def _excerpt(data, fmt: str, max_lines: int = 150) -> list[bytes]:
    logs = real_logs(fmt)
    log = data.draw(st.sampled_from(logs[:6]))
    lines = log.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    start = data.draw(st.integers(0, max(0, len(lines) - 1)))
    n = data.draw(st.integers(1, max_lines))
    return lines[start:start + n]


@pytest.mark.parametrize("fmt", STDOUT)
@fuzz(0.5)
@given(data=st.data())
def test_garbage_mixed_into_a_real_log_loses_no_event(fmt, data):
    clean = _excerpt(data, fmt)
    dirty = list(clean)
    n_garbage = data.draw(st.integers(1, 12))
    for _ in range(n_garbage):
        at = data.draw(st.integers(0, len(dirty)))
        dirty.insert(at, data.draw(GARBAGE))
    want, want_stats = _parse(fmt, decode_lines(b"\n".join(clean) + b"\n"), [])
    got, got_stats = _parse(fmt, decode_lines(b"\n".join(dirty) + b"\n"), [])
    assert got == want
    assert got_stats.parsed == want_stats.parsed
    assert got_stats.skipped == want_stats.skipped + n_garbage  # each counted, none fatal
    count(f"parsers/recover/{fmt}")
    count("events recovered", len(want))


@fuzz(0.5)
@given(data=st.data())
def test_load_gives_a_run_or_one_line_naming_the_file(tmp_path_factory, data):
    fmt = data.draw(st.sampled_from(ALL))
    raw = data.draw(st.one_of(log_bytes(LINES[fmt]), st.binary(max_size=3000)))
    forced = data.draw(st.sampled_from([None, *ALL]))
    path = tmp_path_factory.mktemp("load") / "x.log"
    path.write_bytes(raw)
    with Timer():
        try:
            run = analyzer.load(path, format=forced)
        except LoadError as e:
            msg = str(e)
            assert msg.startswith(str(path)) and "\n" not in msg
            count("load/error")
        else:
            assert run.stats.lines >= 0 and set(run.iters.columns) >= {"step", "loss"}
            count("load/run")
    count("load/examples")


# What fuzzing found, kept as plain examples: header values that are not JSON data (inf,
# tuple keys, unhashable keys) reached run_start, or made a parser raise.
HOSTILE_HEADERS = {
    "nanogpt": ["n_layer = 1e999", "learning_rate = float('nan')", "eval_interval = [1e999, 2]",
                "wandb_run_name = {(1, 2): 3}", "x = __import__('os').system('touch pwned')"],
    "llmc": ["| checkpoint_every      | 1e999                                              |",
             "| num_layers L          | nan                                                |"],
    "nanochat": ["Building model with config: {[1]: 2}",
                 "Building model with config: {(1, 2): 3, 'n_layer': 1e999, 7: 'x'}",
                 "Building model with config: {'sequence_len': True, 'n_head': -1e999}",
                 "warmup_ratio: inf", "Inherited x=1e999 from base", "COMPUTE_DTYPE:",
                 "Calculated number of iterations", "Total batch size x"],
}


@pytest.mark.parametrize("fmt,line", [(f, line) for f, lines in HOSTILE_HEADERS.items()
                                      for line in lines])
def test_hostile_header_values_stay_json_data(fmt, line, tmp_path):
    from tests.reliability.fuzzing import _FALLBACK
    training = [s for s in _FALLBACK[fmt] if s.lower().startswith(("iter", "step"))]
    lines = [line] + training
    events, stats = _parse(fmt, lines, [])
    _check(fmt, lines, events, stats)
    assert any(e["type"] == "run_start" for e in events)
    assert not (tmp_path / "pwned").exists() and not os.path.exists("pwned")


# What fuzzing found: lines of 100,000 characters that made patterns backtrack for minutes
# ("[…]" or a step line followed by a long run of spaces; "step:1/2 " and a long word).
HUGE = {"spaces": " " * 100_000 + "x", "word": "x" * 100_000, "tabs": "\t" * 100_000 + "x",
        "pairs": "a: " * 33_000, "pipes": "| " * 50_000, "digits": "9" * 100_000}
PREFIXES = ["[…]", "... (truncated) ...", "step     1 | loss: 10.9 | lr 1e-06 | nor",
            "step    1/19560 | train loss 11.0 | norm 15.0911 | lr", "| num_layers L     | 12",
            "step:124/1770 train_time:10721ms step_avg:94.05ms", "iter 10: loss 3.1, time 1ms",
            "step 00000/16704 (0.00%) | loss: 10.39 | lrm: 1.00 |", "Building model with config:",
            "2023-01-01 12:00:00 > WARNING: ", "Traceback (most recent call last):", ""]


@pytest.mark.parametrize("fmt", ALL)
def test_huge_lines_take_linear_time(fmt):
    for prefix in PREFIXES:
        for shape, tail in HUGE.items():
            with Timer() as t:
                _parse(fmt, [prefix + tail, prefix + tail + " 1.0 ms"], [])
                registry.get(fmt).detect([prefix + tail])
            assert t.seconds < 1.0, (fmt, prefix, shape, t.seconds)


@pytest.mark.parametrize("fmt", STDOUT)
def test_every_kind_of_real_line_cut_anywhere(fmt):
    """Exhaustive, not random: one real line of each shape (digits aside), cut after every
    character (a log cut by a crash, a paste, a size limit). The long fuzz run found a
    header line whose cut version raised inside the parser."""
    shapes: dict[str, str] = {}
    for raw in LINES[fmt]:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        shapes.setdefault(re.sub(r"\d+", "0", line)[:120], line[:200])
    for line in shapes.values():
        for cut in range(len(line) + 1):
            events, stats = _parse(fmt, [line[:cut]], [])
            _check(fmt, [line[:cut]], events, stats)
    count(f"parsers/cut-lines/{fmt}", sum(len(s) + 1 for s in shapes.values()))
