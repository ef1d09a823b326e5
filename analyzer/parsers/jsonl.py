"""gptscope's own events.jsonl (gptscope/schema.py): a simple reader and a fast one.

The simple reader (``Parser``) decodes line by line with ``json`` and checks each event
against the schema. It reads any key order and any extra fields.

The fast reader (``parse_into`` / ``parse_file_fast``) exists because a run has up to
millions of ``iter`` lines, and per-line ``json.loads`` plus building rows takes ~13 s per
million. Our writer emits every event's keys in one fixed order (schema.make_event), and iter
values are plain numbers, so an iter line is a fixed sequence of ``"key":value`` pieces
joined by commas. pyarrow's CSV reader (C++, on all cores) therefore splits the lines into
one column per key, and vectorised compute checks each column's key, cuts it off and casts
the values to numbers. A line that does not have exactly the layout of the file's first iter
line -- another event type, another key order, extra fields, a bad value, a cut line -- goes
to the simple reader instead, so the result is the same as reading everything slowly.
"""
from __future__ import annotations

import json
import os
import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterable, Iterator

import numpy as np

from analyzer.run import ParseStats, Run
from gptscope.schema import (COMMON, EVENT_TYPES, FIELDS, OPTIONAL, RUN_END_STATUSES,
                             field_names, validate)

NAME = "gptscope"
CHUNK = 16 << 20       # bytes per CSV task: bounds the memory of the intermediate columns

_ITER_KEYS = field_names("iter")
_LONE_CR = re.compile(rb"\r(?!\n)")
_INT = r"^-?(0|[1-9][0-9]*)$"  # JSON numbers, for the rare column that does not cast
_FLOAT = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$"


def detect(head: list[str]) -> float:
    """Share of the first non-blank lines that are schema events (a cut line counts too)."""
    good = bad = 0
    for line in head:
        line = line.strip()
        if not line:
            continue
        try:
            ev = json.loads(line)
            ok = isinstance(ev, dict) and ev.get("type") in EVENT_TYPES and "v" in ev
        except ValueError:
            ok = line.startswith('{"type":"')  # half-written by a running trainer
        good, bad = good + ok, bad + (not ok)
        if good + bad >= 50:
            break
    return good / (good + bad) if good else 0.0


_EXACT = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
          "dict": (dict,), "null": (type(None),)}
# per event type: (name, exact types, optional); json.loads makes only these exact types
_SPEC = {etype: [(name, tuple(t for n in types for t in _EXACT[n]), name in OPTIONAL)
                 for name, types, _ in COMMON + fields] for etype, fields in FIELDS.items()}


def is_valid(ev: Any) -> bool:
    """schema.validate(ev) == [] for what json.loads returns, several times faster: a
    million events are checked one by one when a file is not in the fast layout."""
    etype = ev.get("type") if type(ev) is dict else None
    spec = _SPEC.get(etype) if type(etype) is str else None
    if spec is None:
        return False
    for name, types, optional in spec:
        if name in ev:
            if type(ev[name]) not in types:
                return False
        elif not optional:
            return False
    return ev["type"] != "run_end" or ev["status"] in RUN_END_STATUSES


def parse_line(line: str, lineno: int, stats: ParseStats) -> dict[str, Any] | None:
    """One line into an event, or None (a blank line, or a bad one counted in stats)."""
    text = line.strip()
    if not text:
        return None
    try:
        ev = json.loads(text)
    except ValueError as e:
        stats.skip(lineno, f"not JSON ({getattr(e, 'msg', e)})", text)
        return None
    if not is_valid(ev):
        try:
            problem = (validate(ev) or ["not a schema event"])[0]  # validate says why
        except TypeError:  # e.g. {"type": [1]}: an unhashable type trips validate
            problem = f"unknown event type {ev.get('type')!r}"
        stats.skip(lineno, problem, text)
        return None
    stats.parsed += 1
    return ev


class Parser:
    """The simple streaming reader: one json.loads and one schema check per line."""

    def __init__(self, run_id: str = "log", stats: ParseStats | None = None):
        self.run_id = run_id  # unused: every event names its run
        self.stats = stats if stats is not None else ParseStats()

    def feed(self, lines: list[str], first_lineno: int) -> list[dict[str, Any]]:
        self.stats.lines += len(lines)
        out = []
        for i, line in enumerate(lines):
            ev = parse_line(line, first_lineno + i, self.stats)
            if ev is not None:
                out.append(ev)
        return out

    def finish(self) -> list[dict[str, Any]]:
        return []


# -- the fast reader ------------------------------------------------------------------------

@dataclass
class Layout:
    """The key order of the file's iter lines, learnt from its first one."""
    keys: list[str]
    v: bytes          # the '"v":1' piece, exactly as written
    run_id: str       # of the sample line; other chunks find their own
    length: int       # of the sample line, to guess how many rows a file holds

    @property
    def prefixes(self) -> list[bytes]:
        return [b'{"type":'] + [f'"{k}":'.encode() for k in self.keys[1:]]


def learn_layout(data: bytes) -> Layout | None:
    """The layout of the first iter line in ``data`` if it is ours: keys in schema order,
    values without commas. None: use the simple reader."""
    pos = 0
    while True:
        pos = data.find(b'{"type":"iter",', pos)
        if pos < 0:
            return None
        if pos == 0 or data[pos - 1:pos] == b"\n":
            break
        pos += 1
    end = data.find(b"\n", pos)
    line = bytes(data[pos:end if end >= 0 else len(data)]).rstrip(b"\r")
    try:
        ev = json.loads(line)
    except ValueError:
        return None
    keys = list(ev)
    if (validate(ev) or keys != [k for k in _ITER_KEYS if k in ev]
            or line.count(b",") != len(keys) - 1 or not line.endswith(b"}")):
        return None
    return Layout(keys, f'"v":{ev["v"]}'.encode(), ev["run_id"], len(line) + 1)


@dataclass
class Chunk:
    """What the fast reader got from one block of whole lines."""
    n_lines: int
    columns: dict[str, np.ndarray]         # iter columns of the rows read fast
    fast_lines: np.ndarray                 # their line numbers, 1-based within the chunk
    slow: list[tuple[int, str]]            # (line number, text) for the simple reader
    run_id: str | None = None
    layout: Layout | None = None


def _slow_chunk(data: Any) -> Chunk:
    lines = bytes(data).decode("utf-8", errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    slow = [(i + 1, s) for i, s in enumerate(lines)]
    return Chunk(len(lines), {}, np.empty(0, np.int64), slow)


def _read_columns(data: Any, ncol: int):  # -> pyarrow.Table | None
    import pyarrow as pa
    import pyarrow.csv as pcsv
    invalid: list[tuple[int, str]] = []

    def keep(row: Any) -> str:  # rows with another number of pieces: the simple reader's
        invalid.append((row.number, row.text))
        return "skip"

    names = [f"c{i}" for i in range(ncol)]
    table = pcsv.read_csv(
        pa.BufferReader(data),
        read_options=pcsv.ReadOptions(column_names=names, use_threads=False,
                                      block_size=max(1 << 20, len(data) + 1)),
        parse_options=pcsv.ParseOptions(delimiter=",", quote_char=False, escape_char=False,
                                        double_quote=False, newlines_in_values=False,
                                        ignore_empty_lines=False, invalid_row_handler=keep),
        convert_options=pcsv.ConvertOptions(column_types={n: pa.binary() for n in names},
                                            strings_can_be_null=False))
    return table, invalid


def _values(piece, start: int, stop: int, kind: str):  # -> (numpy values, ok, null mask)
    """Cast the value part of 'key:value' pieces; rows whose value is not a number (or
    true/false) are not ok. Floats come back with NaN for null, ints with a null mask."""
    import pyarrow as pa
    import pyarrow.compute as pc
    s = pc.binary_slice(piece, start, stop).view(pa.string())
    if kind == "bool":
        true = pc.equal(s, "true")
        return true.to_numpy(zero_copy_only=False), pc.or_(true, pc.equal(s, "false")), None
    target = pa.int64() if kind == "int" else pa.float64()
    ok = pa.scalar(True)
    try:  # the usual column: numbers only (a 'null' fails the cast, and is looked for then)
        values = s.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        null = pc.equal(s, "null")
        if pc.any(null).as_py():
            s = pc.if_else(null, None, s)
        try:
            values = s.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            ok = pc.fill_null(pc.match_substring_regex(s, _INT if kind == "int" else _FLOAT),
                              True)
            values = pc.if_else(ok, s, None).cast(target)
    if kind == "float":
        return values.to_numpy(zero_copy_only=False), ok, None
    if not values.null_count:
        return values.to_numpy(zero_copy_only=False), ok, np.zeros(len(values), bool)
    mask = values.is_null().to_numpy(zero_copy_only=False)
    return values.fill_null(0).to_numpy(zero_copy_only=False), ok, mask


def parse_chunk(block: bytes, layout: Layout | None) -> Chunk:
    """A block of whole lines (ending in \\n) through the CSV reader and the column casts."""
    if not block:
        return Chunk(0, {}, np.empty(0, np.int64), [])
    if layout is None or (b"\r" in block and _LONE_CR.search(block)):
        return _slow_chunk(block)  # the CSV reader would end a line at a lone \r
    import pyarrow as pa
    buf = pa.py_buffer(block)
    try:  # invalid UTF-8 would fail the CSV reader's callback: read such a block slowly
        if not block.isascii():  # (our writer escapes everything else: the usual case)
            pa.LargeStringArray.from_buffers(
                1, pa.py_buffer(np.array([0, len(buf)], np.int64)), buf).validate(full=True)
        chunk = _parse_chunk(buf, layout)
    except (ValueError, UnicodeDecodeError):  # pyarrow errors are ValueErrors
        return _slow_chunk(block)
    chunk.layout = layout
    return chunk


def _parse_chunk(data: Any, layout: Layout) -> Chunk:
    import pyarrow as pa
    import pyarrow.compute as pc
    ncol = len(layout.keys)
    table, invalid = _read_columns(data, ncol)
    cols = [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in table.columns]
    n = table.num_rows
    ok = pc.and_(pc.equal(cols[0], b'{"type":"iter"'), pc.equal(cols[1], layout.v))
    run_id = None
    first = pc.index(cols[0], b'{"type":"iter"').as_py()
    if first >= 0:  # this chunk's run_id: the first iter row's, if it is a JSON string
        ref = cols[2][first].as_py()
        try:
            run_id = json.loads(b"{" + ref + b"}")["run_id"]
        except (ValueError, KeyError, TypeError):
            run_id = None
        ok = pc.and_(ok, pc.equal(cols[2], ref)) if isinstance(run_id, str) else \
            pa.scalar(False)
    columns: dict[str, np.ndarray] = {}
    for i in range(3, ncol):
        key, prefix = layout.keys[i], layout.prefixes[i]
        last = i == ncol - 1
        ok = pc.and_(ok, pc.starts_with(cols[i], prefix))
        if last:
            ok = pc.and_(ok, pc.ends_with(cols[i], b"}"))
        kind = "bool" if key == "eval_inclusive" else \
            "int" if key in ("step", "slowest_rank") else "float"
        values, good, mask = _values(cols[i], len(prefix), -1 if last else 1 << 30, kind)
        ok = pc.and_(ok, good)
        if key == "step":
            columns["step_mask"] = mask
        elif kind == "int":  # slowest_rank: a float column with NaN, like the others
            values = values.astype(np.float64)
            values[mask] = np.nan
        columns[key] = values
    ok_np = ok.to_numpy(zero_copy_only=False)  # an array: every column and'ed into it
    # line numbers of the table's rows: the lines the CSV reader did not hand back
    n_lines = n + len(invalid)
    is_row = np.ones(n_lines, bool)
    is_row[[num - 1 for num, _ in invalid]] = False
    row_lines = np.flatnonzero(is_row) + 1
    slow = list(invalid)
    bad = np.flatnonzero(~ok_np)
    if len(bad):
        idx = pa.array(bad)
        texts = pc.binary_join_element_wise(*[c.take(idx) for c in cols], b",")
        for lineno, text in zip(row_lines[bad].tolist(), texts.to_pylist()):
            text = text.decode("utf-8", errors="replace")
            # an empty line comes back as empty pieces (a line of bare commas would too,
            # and is then taken as blank rather than counted: harmless)
            slow.append((lineno, "" if text.strip(",") == "" else text))
        slow.sort()
    keep = {k: v[ok_np] for k, v in columns.items()} if len(bad) else columns
    return Chunk(n_lines, keep, row_lines[ok_np], slow, run_id)


def memory_blocks(data: bytes, end: int, size: int | None = None) -> Iterator[bytes]:
    """data[:end] (whole lines) in blocks of about ``size`` bytes cut at line ends."""
    size = size or CHUNK
    start = 0
    while start < end:
        stop = min(start + size, end)
        if stop < end:
            cut = data.rfind(b"\n", start, stop)
            stop = cut + 1 if cut >= 0 else data.find(b"\n", stop, end) + 1 or end
        yield data[start:stop]
        start = stop


def file_blocks(f: BinaryIO, rest: list[bytes], size: int | None = None) -> Iterator[bytes]:
    """A file in blocks of whole lines, read as they are needed (memory stays at a few
    blocks, and a file truncated meanwhile just ends early). The text after the last
    newline is put in ``rest``."""
    size = size or CHUNK
    carry = b""
    while True:
        data = f.read(size)
        if not data:
            rest.append(carry)
            return
        data = carry + data
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            yield data[:cut]


def read_blocks(builder: Any, blocks: Iterable[bytes], first_lineno: int = 1,
                size_hint: int = 0) -> int:
    """Blocks of whole lines into a RunBuilder, parsed on all cores (pyarrow releases the
    GIL) and merged in file order; returns the number of lines."""
    workers = min(os.cpu_count() or 1, 8)
    lineno, layout = first_lineno, None
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(workers) as pool:
        for block in blocks:
            if layout is None and (layout := learn_layout(block)) is not None:
                # room for every line as an iter row: saves regrowing the columns, and
                # pages never written cost no memory
                builder.iters.reserve(int(max(size_hint, len(block)) / (0.75 * layout.length)))
            pending.append(pool.submit(parse_chunk, block, layout))
            while len(pending) > workers or (pending and pending[0].done()):
                lineno += _merge(builder, pending.popleft().result(), lineno)
        while pending:
            lineno += _merge(builder, pending.popleft().result(), lineno)
    return lineno - first_lineno


def read_last_line(builder: Any, text: bytes) -> int:
    """The text after a file's last newline: read if it is a whole event (a writer that
    ended without newline); otherwise it is being written, and that is not an error."""
    try:
        ev = json.loads(text.decode("utf-8", errors="replace"))
    except ValueError:
        return 0
    if not is_valid(ev):
        return 0
    builder.stats.lines += 1
    builder.stats.parsed += 1
    builder.add_events([ev])
    return 1


def parse_into(builder: Any, data: bytes, first_lineno: int = 1, final: bool = True) -> int:
    """The whole lines of ``data`` into a RunBuilder; returns the number of lines read.
    ``final``: also read the text after the last newline (see read_last_line)."""
    end = data.rfind(b"\n") + 1
    n = read_blocks(builder, memory_blocks(data, end), first_lineno, end)
    if final and end < len(data):
        n += read_last_line(builder, data[end:])
    return n


def read_bulk(builder: Any, data: Any, *, run_id: str = "log", first_lineno: int = 1,
              final: bool = True) -> Parser | None:
    """The bulk hook: the whole lines of ``data`` (bytes, bytearray, memoryview or mmap)
    into ``builder`` (a RunBuilder), and with ``final`` the text after the last newline
    too. Returns the Parser (sharing ``builder.stats``) that reads the lines after them."""
    if isinstance(data, memoryview):  # the block readers need find/rfind
        data = data.obj if data.contiguous and data.nbytes == len(data.obj) else bytes(data)
    parse_into(builder, data, first_lineno, final)
    return Parser(run_id, stats=builder.stats)


def _merge(builder: Any, chunk: Chunk, first_lineno: int) -> int:
    """Add a chunk's fast rows and its slow lines to the builder in line order; returns
    the chunk's number of lines.

    Only a slow line that is an iter, run_start or resume event needs the fast rows before
    it appended first (row order, segment numbers); evals and the like go in as they come,
    so a chunk's fast rows are usually appended in one piece. A journaling builder (a
    follower) gets everything in exact line order instead.
    """
    stats = builder.stats
    stats.lines += chunk.n_lines
    nfast = len(chunk.fast_lines)
    stats.parsed += nfast
    layout = chunk.layout
    info = {"run_id": chunk.run_id, "v": layout.v if layout else None,
            "keys": layout.keys if layout else None}
    exact = builder.journal is not None
    slow = [(lineno, ev) for lineno, text in chunk.slow
            if (ev := parse_line(text, first_lineno + lineno - 1, stats)) is not None]
    cuts = np.searchsorted(chunk.fast_lines, [lineno for lineno, _ in slow]).tolist()
    pos, group = 0, []
    for (_, ev), k in zip(slow, cuts):
        if k > pos and (exact or ev.get("type") in ("iter", "run_start", "resume")):
            builder.add_events(group)
            group = []
            builder.add_iter_columns({c: v[pos:k] for c, v in chunk.columns.items()},
                                     k - pos, info)
            pos = k
        group.append(ev)
    builder.add_events(group)
    builder.add_iter_columns({c: v[pos:] for c, v in chunk.columns.items()}, nfast - pos,
                             info)
    return chunk.n_lines


def parse_file_fast(data: bytes) -> Run:
    """A whole events.jsonl, as bytes, into a Run."""
    from analyzer.builder import RunBuilder
    builder = RunBuilder(NAME)
    parse_into(builder, data)
    return builder.run()


def parse_path(path: str | os.PathLike, run_id: str = "log") -> Run:
    """An events.jsonl read from disk block by block: memory follows the events, not the
    file. (``run_id`` is unused: our events carry theirs.)"""
    from analyzer.builder import RunBuilder
    builder = RunBuilder(NAME)
    rest: list[bytes] = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        read_blocks(builder, file_blocks(f, rest), 1, size)
    if rest and rest[0]:
        read_last_line(builder, rest[0])
    return builder.run()
