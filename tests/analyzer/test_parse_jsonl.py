"""Our events.jsonl: the simple reader, the fast columnar reader, and that they agree."""
from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.loader import load
from analyzer.parsers import jsonl
from analyzer.run import ITER_COLUMNS, ParseStats, Run, RunBuilder
from tests.analyzer._parse_util import jsonl_run
from gptscope.schema import dumps, make_event

START = dict(config={"lr": 1e-3, "name": "a,b"}, model={"n_layer": 2}, device="cpu",
             dtype="float32", world_size=1, peak_flops_source="unknown", source="gptscope")


def start(run_id: str = "r", step: int = 0) -> dict:
    return make_event("run_start", run_id, step, 1.0, **START)


def it(step: int, run_id: str = "r", **fields) -> dict:
    base = dict(loss=3.0 - step / 100, lr=6e-4, dt_ms=20.5, eval_inclusive=step % 5 == 0,
                mfu=0.25, mfu_smoothed=0.2)
    return make_event("iter", run_id, step, 100.0 + step, **{**base, **fields})


def ev(step: int, run_id: str = "r") -> dict:
    return make_event("eval", run_id, step, 100.0 + step, train_loss=2.0, val_loss=2.5,
                      best_val_loss=2.5)


def slow(lines: list[str]) -> tuple[Run, ParseStats]:
    """The reference: every line through the simple reader, then Run.from_events."""
    parser = jsonl.Parser()
    events = parser.feed(lines, 1)
    return Run.from_events(events, "gptscope", stats=parser.stats), parser.stats


def fast(text: str, monkeypatch: pytest.MonkeyPatch | None = None, chunk: int | None = None
         ) -> Run:
    if chunk is not None:
        monkeypatch.setattr(jsonl, "CHUNK", chunk)
    return jsonl_run(text.encode())


def assert_same_run(a: Run, b: Run) -> None:
    for name in ("iters", "evals", "metrics", "checkpoints", "anomalies"):
        pd.testing.assert_frame_equal(getattr(a, name).reset_index(drop=True),
                                      getattr(b, name).reset_index(drop=True), obj=name)
    assert a.meta == b.meta
    assert a.segments == b.segments
    assert a.end == b.end
    assert (a.stats.lines, a.stats.parsed, a.stats.skipped) == \
        (b.stats.lines, b.stats.parsed, b.stats.skipped)
    assert [s[:2] for s in a.stats.samples] == [s[:2] for s in b.stats.samples]


# -- detection -------------------------------------------------------------------------------

def test_detect_our_events():
    lines = [dumps(start()), dumps(it(0)), ""]
    assert jsonl.detect(lines) == 1.0


def test_detect_counts_a_half_written_line_as_ours():
    assert jsonl.detect([dumps(start()), '{"type":"iter","v":1,"run']) == 1.0


@pytest.mark.parametrize("head", [
    ["iter 0: loss 4.2, time 100.00ms, mfu -100.00%"],
    ['{"step": 1, "loss": 2.0}'],          # JSON, but not our events
    ["[1, 2, 3]"],
    [],
])
def test_detect_rejects_other_text(head):
    assert jsonl.detect(head) == 0.0


# -- the simple reader -----------------------------------------------------------------------

def test_bad_lines_are_counted_with_line_numbers():
    lines = [dumps(start()), "not json", dumps(it(0)), "", '{"type":"nope","v":1}',
             json.dumps({**it(1), "loss": "high"}), dumps(it(2))]
    parser = jsonl.Parser()
    events = parser.feed(lines, 10)
    assert [e["type"] for e in events] == ["run_start", "iter", "iter"]
    assert parser.stats.lines == 7 and parser.stats.parsed == 3 and parser.stats.skipped == 3
    assert [(n, reason.split(" ")[0]) for n, reason, _ in parser.stats.samples] == \
        [(11, "not"), (14, "unknown"), (15, "field")]
    assert "not JSON" in parser.stats.samples[0][1]


def test_a_type_that_is_not_a_string_is_a_bad_line():
    parser = jsonl.Parser()
    assert parser.feed(['{"type": [1], "v": 1}', '{"type": {}}'], 1) == []
    assert parser.stats.skipped == 2 and "unknown event type" in parser.stats.samples[0][1]


def test_any_key_order_and_extra_fields():
    event = it(3)
    shuffled = dict(reversed(list(event.items())))
    shuffled["future_field"] = 1  # a newer writer may add fields
    run, stats = slow([json.dumps(shuffled)])
    assert stats.skipped == 0
    assert run.iters["step"].tolist() == [3] and run.iters["loss"].tolist() == [event["loss"]]


_ITER = make_event("iter", "r", 1, 1.0, loss=1.0)


@pytest.mark.parametrize("value", [
    _ITER, {**_ITER, "loss": True}, {**_ITER, "step": 1.0}, {**_ITER, "time": 1},
    {**_ITER, "step": None}, {**_ITER, "slowest_rank": 2}, {**_ITER, "slowest_rank": 1.5},
    {k: v for k, v in _ITER.items() if k != "lr"}, {"type": "iter"},
    {"type": 5}, [1], "x", None, 3,
    make_event("run_end", "r", 1, 1.0, status="completed"),
    {**make_event("run_end", "r", 1, 1.0, status="completed"), "status": "done"},
    start(), {**start(), "config": []},
])
def test_bulk_reader_agrees_with_schema_validate(value):
    """The bulk reader's typed structs (made from the schema table) accept exactly what
    gptscope.schema.validate accepts."""
    from gptscope.schema import validate
    lines = [json.dumps(value)] * 3
    expected, stats = slow(lines)
    assert stats.skipped == (0 if validate(value) == [] else 3)
    assert_same_run(jsonl_run(("\n".join(lines) + "\n").encode()), expected)


# -- the fast reader -------------------------------------------------------------------------

def mixed_lines() -> list[str]:
    """Every kind of line the fast reader must hand to the simple one, among normal ones."""
    rng = random.Random(1)
    out = [dumps(start())]
    for step in range(120):
        out.append(dumps(it(step, loss=None if step == 7 else rng.random() * 4,
                            grad_norm=rng.choice([None, 1.5, 2]))))
        if step % 25 == 0:
            out.append(dumps(ev(step)))
    shuffled = dict(reversed(list(it(200).items())))
    out[10:10] = [
        json.dumps(shuffled),                                   # another key order
        json.dumps({**it(201), "extra": [1, 2]}),               # an extra field
        dumps(it(202)).replace('"loss":', '"loss": '),           # other spacing
        dumps(it(203)).replace('"dt_ms":20.5', '"dt_ms":"20.5"'),  # a string number: bad
        dumps(it(204)).replace('"eval_inclusive":false', '"eval_inclusive":0'),  # bad
        dumps(it(205))[:-30],                                    # cut: bad
        "garbage, with, commas, " * 3,                           # bad, other piece count
        "",                                                      # blank
        "   ",                                                   # blank
        dumps(it(206, run_id="other")),                          # another run's id
        dumps(it(207)).replace('"step":207', '"step":null'),     # null step: valid
        dumps(it(208, step_ms_min=1.0, step_ms_max=2.0, slowest_rank=3)),  # 17 keys
        dumps(make_event("resume", "r", 50, 5.0, from_step=50, checkpoint="ckpt.pt")),
        dumps(it(209)) + "  ",                                   # trailing blanks
        dumps(it(210)).replace('"mfu":0.25', '"mfu":1e-05'),     # exponent
        json.dumps(it(211, run_id="résumé"), ensure_ascii=False,  # UTF-8, not escaped
                   separators=(",", ":")),
    ]
    out.insert(60, dumps(start(run_id="second")))                 # a second run in the file
    out.append(dumps(make_event("run_end", "r", 119, 9.0, status="completed", steps=120)))
    return out


@pytest.mark.parametrize("chunk", [None, 700, 4096])
def test_fast_reader_equals_simple_reader(monkeypatch, chunk):
    lines = mixed_lines()
    expected, stats = slow(lines)
    got = fast("\n".join(lines) + "\n", monkeypatch, chunk)
    assert stats.skipped == 4 and got.n_segments == 3
    assert_same_run(got, expected)
    assert list(got.iters.columns) == ITER_COLUMNS


@pytest.mark.parametrize("chunk", [None, 300, 5000])
@pytest.mark.parametrize("last", ["", '{"type":"iter","v":1,"ru', dumps(it(999))])
def test_load_in_blocks_equals_the_bulk_reader_on_the_bytes(tmp_path, monkeypatch, chunk,
                                                            last):
    text = "".join(line + "\n" for line in mixed_lines()) + last
    path = tmp_path / "events.jsonl"
    path.write_text(text)
    if chunk:
        monkeypatch.setattr(jsonl, "CHUNK", chunk)
    from_disk, in_memory = load(path), jsonl_run(text.encode())
    assert_same_run(from_disk, in_memory)
    assert from_disk.iters["step"].iloc[-1] == (999 if last.endswith("}") else 119)


def test_fast_reader_multi_process_layout(monkeypatch):
    lines = [dumps(start())] + [dumps(it(s, step_ms_min=1.0 + s, step_ms_max=3.0,
                                         slowest_rank=s % 4)) for s in range(50)]
    expected, _ = slow(lines)
    got = fast("\n".join(lines) + "\n", monkeypatch, 1000)
    assert_same_run(got, expected)
    assert got.iters["slowest_rank"].dtype == "int64"


def test_crlf_and_lone_cr(monkeypatch):
    lines = [dumps(start())] + [dumps(it(s)) for s in range(30)]
    crlf = "\r\n".join(lines) + "\r\n"
    expected, _ = slow(lines)
    assert_same_run(fast(crlf, monkeypatch, 500), expected)
    # a lone \r in a line: the CSV reader would split it, so that part is read slowly.
    # Between tokens it is JSON whitespace; inside a string it makes the line bad.
    lines[5] = lines[5][:15] + "\r" + lines[5][15:]
    lines[9] = lines[9][:10] + "\r" + lines[9][10:]
    expected, stats = slow(lines)
    assert stats.skipped == 1 and stats.samples[0][0] == 10
    assert_same_run(fast("\n".join(lines) + "\n", monkeypatch, 500), expected)


def test_undecodable_bytes_are_replaced_not_fatal(monkeypatch):
    lines = [dumps(start())] + [dumps(it(s)) for s in range(20)]
    data = ("\n".join(lines[:8]) + "\n").encode() + b"\xff\xfe,x,y\n" + \
        ("\n".join(lines[8:]) + "\n").encode()
    run = jsonl_run(data)
    assert len(run.iters) == 20 and run.stats.skipped == 1
    assert run.stats.samples[0][0] == 9


def test_half_written_last_line_is_ignored_and_a_whole_one_is_read():
    lines = [dumps(start())] + [dumps(it(s)) for s in range(5)]
    text = "\n".join(lines) + "\n"
    cut = jsonl_run((text + dumps(it(5))[:40]).encode())
    assert len(cut.iters) == 5 and cut.stats.skipped == 0 and cut.stats.lines == 6
    whole = jsonl_run((text + dumps(it(5))).encode())  # no final newline
    assert whole.iters["step"].tolist() == [0, 1, 2, 3, 4, 5]


def test_no_iter_lines_and_empty_input():
    run = jsonl_run((dumps(start()) + "\n" + dumps(ev(0)) + "\n").encode())
    assert len(run.iters) == 0 and len(run.evals) == 1 and run.meta["run_id"] == "r"
    empty = jsonl_run(b"")
    assert len(empty.iters) == 0 and empty.stats.lines == 0


@pytest.mark.parametrize("layout", [
    lambda e: json.dumps(dict(reversed(list(e.items())))),           # another key order
    lambda e: json.dumps(e, indent=None, separators=(" , ", " : ")),  # other whitespace
    lambda e: json.dumps({"host": "n1", **e, "tags": {"a": [1, "x,y"]}}),  # extra fields
    lambda e: json.dumps({**e, "dt_ms": 20, "loss": None}),           # ints, nulls
])
def test_any_valid_layout_is_read_in_bulk(monkeypatch, layout):
    from analyzer.parsers.jsonl_blocks import read_chunk
    lines = [layout(start())] + [layout(it(s)) for s in range(10)]
    text = "\n".join(lines) + "\n"
    expected, _ = slow(lines)
    assert_same_run(fast(text, monkeypatch, 300), expected)
    chunk = read_chunk(text.encode())
    assert chunk.fast_lines.tolist() == list(range(2, 12))  # the iter lines, none slow
    assert [n for n, _ in chunk.slow] == [1]


# -- property: any mix of events and damage reads the same both ways ----------------------

_events = st.one_of(
    st.builds(lambda s, loss: it(s, loss=loss), st.integers(0, 10**6),
              st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))),
    st.builds(ev, st.integers(0, 1000)),
    st.builds(lambda s: start(step=s), st.integers(0, 10)),
    st.builds(lambda s: make_event("resume", "r", s, 1.0, from_step=s), st.integers(0, 9)),
    st.builds(lambda s: make_event("metric", "r", s, 1.0, name="hella", value=0.3),
              st.integers(0, 9)),
)
_damage = st.sampled_from(["none", "none", "none", "cut", "reorder", "blank"])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_events, _damage), max_size=40), st.integers(200, 3000))
def test_property_fast_equals_simple(monkeypatch, items, chunk):
    lines = []
    for event, damage in items:
        line = dumps(event)
        if damage == "cut":
            line = line[:len(line) // 2]
        elif damage == "reorder":
            line = json.dumps(dict(reversed(list(event.items()))))
        elif damage == "blank":
            line = ""
        lines.append(line)
    expected, _ = slow(lines)
    assert_same_run(fast("".join(line + "\n" for line in lines), monkeypatch, chunk), expected)


def test_builder_in_pieces_equals_from_events():
    lines = mixed_lines()
    events = jsonl.Parser().feed(lines, 1)
    expected = Run.from_events(events, "gptscope")
    builder = RunBuilder("gptscope")
    rng = random.Random(0)
    i = 0
    while i < len(events):
        n = rng.randint(0, 7)
        builder.add_events(events[i:i + n])
        i += n
        builder.run()  # asking in between must not disturb what follows
    got = builder.run()
    for name in ("iters", "evals", "metrics", "checkpoints", "anomalies"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name))
    assert got.segments == expected.segments and got.meta == expected.meta


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "mmap"])
def test_read_bulk_takes_any_buffer_and_hands_back_a_parser(tmp_path, kind):
    import mmap
    lines = mixed_lines()
    head, tail = lines[:70], lines[70:]
    data = "".join(line + "\n" for line in head).encode()
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    with open(path, "rb") as f:
        buf = {"bytes": data, "bytearray": bytearray(data), "memoryview": memoryview(data),
               "mmap": mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)}[kind]
        builder = RunBuilder("gptscope")
        parser = jsonl.read_bulk(builder, buf, first_lineno=1, final=False)
    assert parser is not None and parser.stats is builder.stats
    builder.add_events(parser.feed(tail, len(head) + 1))
    builder.add_events(parser.finish())
    expected, _ = slow(lines)
    assert_same_run(builder.run(), expected)


def test_read_bulk_final_reads_a_whole_last_line_only():
    lines = [dumps(start())] + [dumps(it(s)) for s in range(5)]
    text = "\n".join(lines) + "\n"
    for last, final, n in [(dumps(it(5)), True, 6), (dumps(it(5)), False, 5),
                           (dumps(it(5))[:40], True, 5)]:
        builder = RunBuilder("gptscope")
        jsonl.read_bulk(builder, (text + last).encode(), final=final)
        assert len(builder.run().iters) == n and builder.stats.skipped == 0


def test_nan_and_infinity_written_by_json_dumps_are_read_as_null():
    # json.dumps' defaults write NaN/Infinity, which are not JSON: the events read back are
    # JSON data again (null), and a NaN where the schema needs a number is a skipped line
    first = {**start(), "config": {"lr": float("nan"), "clip": float("inf")}}
    lines = [json.dumps(first), json.dumps({**it(1), "loss": float("nan")}),
             json.dumps({**it(2), "grad_norm": float("-inf")}),
             json.dumps({**ev(3), "time": float("nan")})]
    events = jsonl.Parser().feed(lines, 1)
    assert [e["type"] for e in events] == ["run_start", "iter", "iter"]
    assert events[0]["config"] == {"lr": None, "clip": None}
    assert events[1]["loss"] is None and events[2]["grad_norm"] is None
    for e in events:
        assert json.loads(dumps(e)) == e
    run = fast("\n".join(lines) + "\n")            # the bulk path reads them the same way
    assert run.meta["config"] == {"lr": None, "clip": None}
    assert run.iters["loss"].isna().tolist() == [True, False]
    assert run.stats.skipped == 1 and "time" in run.stats.samples[0][1]
