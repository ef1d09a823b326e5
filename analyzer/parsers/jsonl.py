"""gptscope's own events.jsonl (gptscope/schema.py): a simple reader and a bulk one.

The simple reader (``Parser``) decodes line by line with ``json`` and checks each event
against the schema (``gptscope.schema.validate``). It reads any key order and any extra
fields.

The bulk reader (``read_bulk``) exists because a run has up to millions of ``iter`` lines,
and per-line ``json.loads`` plus building rows takes ~13 s per million. It decodes a block
of lines at a time with msgspec into columns of iter rows (analyzer/parsers/jsonl_blocks.py),
whatever the layout, and hands every other line -- other event types, bad lines -- to the
simple reader, so the result is the same as reading everything line by line.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from analyzer.parsers._text import byte_blocks
from analyzer.run import ParseStats
from gptscope.schema import EVENT_TYPES, json_safe, validate

NAME = "gptscope"
# bytes per block. Small on purpose: a block's decoded structs and their floats fill
# pymalloc arenas that are unmapped again once the block is done, so a 16 MB block
# (~60k events, ~30 MB of objects) made the kernel map and zero fresh pages for every
# block -- 0.2-0.3 s of system time per 1M events. Half a megabyte of events stays within
# arenas that are reused (1M events: 0.80-0.86 s against 1.16-1.17 s for 16 MB blocks).
CHUNK = 512 << 10


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
    if "NaN" in text or "Infinity" in text:
        # words json.dumps writes and json.loads reads, but not JSON: null, as the schema
        # says, before the check (a NaN where a value is required is no event)
        ev = json_safe(ev)
    problems = validate(ev)
    if problems:
        stats.skip(lineno, problems[0], text)
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


# -- the bulk reader ------------------------------------------------------------------------

def read_bulk(builder: Any, data: Any, *, run_id: str = "log", first_lineno: int = 1,
              final: bool = True) -> Parser | None:
    """The bulk hook: the whole lines of ``data`` (bytes, bytearray, memoryview or mmap)
    into ``builder`` (a RunBuilder), and with ``final`` the text after the last newline
    too. Returns the Parser (sharing ``builder.stats``) that reads the lines after them."""
    if isinstance(data, memoryview):  # the block cutter needs find/rfind
        data = data.obj if data.contiguous and data.nbytes == len(data.obj) else bytes(data)
    end = data.rfind(b"\n") + 1
    read_blocks(builder, byte_blocks(data, CHUNK, end), first_lineno, end)
    if final and end < len(data):
        read_last_line(builder, bytes(data[end:]))
    return Parser(run_id, stats=builder.stats)


def read_blocks(builder: Any, blocks: Any, first_lineno: int = 1, size_hint: int = 0) -> int:
    """Blocks of whole lines into a RunBuilder, in file order; returns the number of lines.
    (msgspec holds the GIL while it decodes: threads would not help.)"""
    from analyzer.parsers.jsonl_blocks import read_chunk
    lineno = first_lineno
    for block in blocks:
        if lineno == first_lineno and size_hint:
            # room for every line as an iter row, guessed from the first block: saves
            # regrowing the columns, and pages never written cost no memory
            per_line = len(block) / max(1, block.count(b"\n"))
            builder.iters.reserve(int(size_hint / per_line * 1.05))
        lineno += _merge(builder, read_chunk(block), lineno)
    return lineno - first_lineno


def read_last_line(builder: Any, text: bytes) -> int:
    """The text after a file's last newline: read if it is a whole event (a writer that
    ended without newline); otherwise it is being written, and that is not an error."""
    try:
        ev = json.loads(text.decode("utf-8", errors="replace"))
    except ValueError:
        return 0
    if validate(ev):
        return 0
    builder.stats.lines += 1
    builder.stats.parsed += 1
    builder.add_events([ev])
    return 1


def _merge(builder: Any, chunk: Any, first_lineno: int) -> int:
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
    info = chunk.info
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
