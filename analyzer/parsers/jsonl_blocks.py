"""The bulk reader of events.jsonl: a block of lines into columns of iter rows, any layout.

msgspec decodes a whole block of lines (``Decoder.decode_lines``) into typed structs made
from the schema table (gptscope.schema.FIELDS): key order, whitespace and unknown fields do
not matter, and its type checks are the schema's (a float field takes an int, never a bool;
an int field never takes a float; a required field must be there, even if null). We measured
it against orjson, pyarrow.json and polars (benchmarks/jsonl_bench.py); it is the fastest
that is exact: pyarrow.json and polars read a missing field as null, and polars keeps the
first of two equal keys where json.loads keeps the last.

Only iter events are taken from the structs, as numpy columns. Every other line -- another
event type, a line msgspec refuses (not JSON, a wrong type, NaN, a number out of range), a
row that differs from the block's others (run_id, v, which optional fields it has) -- goes
to the simple reader by line number, so the result is exactly that of reading line by line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Union

import msgspec
import numpy as np

from analyzer.run import as_float
from gptscope.schema import COMMON, FIELDS, OPTIONAL

_LONE_CR = re.compile(rb"\r(?!\n)")
_BRACE = ord("{")
_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict,
          "null": type(None)}
_FLOATS = ["time", "loss", "lr", "grad_norm", "dt_ms", "step_ms", "tokens_per_s", "mfu",
           "mfu_smoothed", "step_ms_min", "step_ms_max", "slowest_rank"]


def _iter_struct() -> type:
    """The iter event as a msgspec Struct, from the schema table: the one definition of
    what a valid event is stays gptscope.schema. An optional field not written is UNSET."""
    fields: list[tuple] = []
    for name, types, _ in COMMON + FIELDS["iter"]:
        if name == "type":
            continue
        hint = Union[tuple(_TYPES[t] for t in types)]  # type: ignore[valid-type]
        if name in OPTIONAL:
            fields.append((name, Union[hint, msgspec.UnsetType], msgspec.UNSET))
        else:
            fields.append((name, hint))
    return msgspec.defstruct("Iter", fields, tag_field="type", tag="iter", gc=False)


Iter = _iter_struct()
# other event types: only their type is read here; the simple reader reads their lines
_OTHERS = [msgspec.defstruct(f"Other_{t}", [], tag_field="type", tag=t, gc=False)
           for t in FIELDS if t != "iter"]
_DECODER = msgspec.json.Decoder(Union[tuple([Iter] + _OTHERS)])  # type: ignore[misc]
_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


@dataclass
class Chunk:
    """What the bulk reader got from one block of whole lines."""
    n_lines: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # iter columns read fast
    fast_lines: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    slow: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)
    info: dict[str, Any] = field(default_factory=dict)  # run_id, v, keys of the fast rows


def read_chunk(block: bytes) -> Chunk:
    """A block of whole lines (ending in \\n) into a Chunk; line numbers are 1-based within
    the block."""
    if not block:
        return Chunk(0)
    if b"\r" in block and _LONE_CR.search(block):
        return _all_slow(block)  # msgspec ends a line at a lone \r, the simple reader not
    arr = np.frombuffer(block, np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.empty_like(ends)
    starts[0], starts[1:] = 0, ends[:-1] + 1
    n_lines = len(ends)
    objects = arr[starts] == _BRACE  # an empty line's first byte is its \n
    slow = []
    if objects.all():
        buf = block
    else:  # blank lines and lines that do not start with '{': the simple reader's
        for i in np.flatnonzero(~objects).tolist():
            slow.append((i + 1, _text(block[starts[i]:ends[i]])))
        keep = np.flatnonzero(objects)
        buf = b"\n".join([block[s:e] for s, e in zip(starts[keep].tolist(),
                                                      ends[keep].tolist())])
        starts, ends = starts[keep], ends[keep]
    line_of = np.flatnonzero(objects) + 1  # line number of each decoded object
    try:
        objs = _DECODER.decode_lines(buf)
        if len(objs) != len(line_of):  # two objects on one line: find it line by line
            raise msgspec.DecodeError
    except _ERRORS:
        objs = _decode_each(block, starts, ends, line_of, slow)
    return _columns(block, objs, line_of, starts, ends, slow, n_lines)


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace")


def _all_slow(block: bytes) -> Chunk:
    lines = block.split(b"\n")
    lines.pop()  # the empty text after the block's last newline
    return Chunk(len(lines), slow=[(i + 1, _text(s)) for i, s in enumerate(lines)])


def _decode_each(block: bytes, starts: np.ndarray, ends: np.ndarray, line_of: np.ndarray,
                 slow: list[tuple[int, str]]) -> list[Any]:
    """A block msgspec refused as a whole, line by line: a bad line goes to the simple
    reader (which says why), and never takes the rest of its block with it."""
    decode = _DECODER.decode
    objs: list[Any] = []
    for s, e, lineno in zip(starts.tolist(), ends.tolist(), line_of.tolist()):
        line = block[s:e]
        try:
            objs.append(decode(line))
        except _ERRORS:
            objs.append(None)
            slow.append((lineno, _text(line)))
    return objs


def _columns(block: bytes, objs: list[Any], line_of: np.ndarray, starts: np.ndarray,
             ends: np.ndarray, slow: list[tuple[int, str]], n_lines: int) -> Chunk:
    """The iter structs as numpy columns; every other object's line to ``slow``."""
    is_iter = np.fromiter(map(Iter.__instancecheck__, objs), bool, len(objs))
    its = [o for o in objs if o.__class__ is Iter] if not is_iter.all() else objs
    rows = np.flatnonzero(is_iter)
    for i in np.flatnonzero(~is_iter).tolist():
        if objs[i] is not None:  # another event type (None: already in slow)
            slow.append((int(line_of[i]), _text(block[starts[i]:ends[i]])))
    chunk = Chunk(n_lines, slow=slow)
    if its:
        ok = _iter_columns(its, chunk)
        if not ok.all():  # rows unlike the block's others: the simple reader's
            for i in rows[~ok].tolist():
                slow.append((int(line_of[i]), _text(block[starts[i]:ends[i]])))
            chunk.columns = {k: v[ok] for k, v in chunk.columns.items()}
            rows = rows[ok]
        chunk.fast_lines = line_of[rows]
    slow.sort()
    return chunk


def _iter_columns(its: list[Any], chunk: Chunk) -> np.ndarray:
    """Fill chunk.columns and chunk.info from iter structs; returns which rows are kept.

    Kept rows share the first row's run_id, v and optional fields (a follower rebuilds
    their events from one head), and have a step that fits int64."""
    n = len(its)
    ok = np.ones(n, bool)
    first = its[0]
    unwritten = [k for k in OPTIONAL if getattr(first, k) is msgspec.UNSET]
    same = ["run_id", "v"] + unwritten  # as in the first row, in every row kept
    for name in same:  # field by field: cheaper than a tuple per row (0.12 -> 0.08 s/1M)
        values = list(map(attrgetter(name), its))
        if values.count(values[0]) != n:  # rare: mark the rows that differ
            ok &= np.array([x == values[0] for x in values])
    cols: dict[str, np.ndarray] = {}
    for name in _FLOATS:
        if name in unwritten:
            continue  # the column stays missing
        try:  # the usual column, numbers only: straight into numpy, twice as fast
            cols[name] = np.fromiter(map(attrgetter(name), its), np.float64, n)
            continue
        except (TypeError, OverflowError):  # a null, an unwritten field, a huge int
            values = list(map(attrgetter(name), its))
        if name in OPTIONAL:  # written in the first row: rows without it are not kept
            ok &= np.array([x is not msgspec.UNSET for x in values])
            values = [None if x is msgspec.UNSET else x for x in values]
        cols[name] = _floats(values)
    cols["eval_inclusive"] = np.fromiter(map(attrgetter("eval_inclusive"), its), bool, n)
    try:
        cols["step"] = np.fromiter(map(attrgetter("step"), its), np.int64, n)
        cols["step_mask"] = np.zeros(n, bool)
    except (TypeError, OverflowError):  # a null step, or one past int64
        cols["step"], cols["step_mask"], step_ok = _steps(list(map(attrgetter("step"), its)))
        ok &= step_ok
    chunk.columns = cols
    keys = ["type"] + [k for k in Iter.__struct_fields__ if k in cols or k in ("v", "run_id")]
    chunk.info = {"run_id": first.run_id, "v": first.v, "keys": keys}
    return ok


def _floats(values: list[Any]) -> np.ndarray:
    try:
        return np.array(values, np.float64)  # None is NaN
    except OverflowError:  # an int past float range (slowest_rank): +-inf, as as_float
        return np.array([np.nan if x is None else as_float(x) for x in values], np.float64)


def _steps(values: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, null mask, rows kept): a step past int64 is left to the simple reader."""
    mask = np.array([s is None for s in values])
    ok = np.array([s is None or -2**63 <= s < 2**63 for s in values])
    steps = np.array([s if s is not None and -2**63 <= s < 2**63 else 0 for s in values],
                     np.int64)
    return steps, mask, ok
