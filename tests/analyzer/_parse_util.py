"""Helpers for the stdout-parser tests: run a parser over text, compare two Runs."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import pandas as pd

from analyzer.parsers._text import decode_lines
from analyzer.run import Run, RunBuilder

FRAMES = ("iters", "evals", "metrics", "checkpoints", "anomalies")


def _feed(mod: ModuleType, text: str | bytes, chunk: int | None) -> tuple[list, Any]:
    """A log through a fresh Parser in chunks of ``chunk`` lines: (events, parser)."""
    data = text.encode() if isinstance(text, str) else text
    lines = decode_lines(data)
    parser = mod.Parser()
    out: list[dict[str, Any]] = []
    step = chunk or max(1, len(lines))
    for i in range(0, len(lines), step):
        out += parser.feed(lines[i:i + step], i + 1)
    return out + parser.finish(), parser


def events(mod: ModuleType, text: str | bytes, chunk: int | None = None) -> list[dict[str, Any]]:
    """All events of a log, fed in chunks of `chunk` lines (all at once by default)."""
    return _feed(mod, text, chunk)[0]


def run(mod: ModuleType, text: str | bytes, chunk: int | None = None) -> Run:
    """A Run the way the loader's streaming path builds it."""
    evs, parser = _feed(mod, text, chunk)
    return Run.from_events(evs, format=mod.NAME, stats=parser.stats)


def bulk_run(mod: ModuleType, data: bytes, run_id: str = "log") -> Run | None:
    """The Run of a format's bulk reader (``read_bulk``) over the whole file; None when the
    reader steps aside (the loader then streams the lines through the Parser)."""
    builder = RunBuilder(mod.NAME)
    if mod.read_bulk(builder, data, run_id=run_id) is None:
        return None
    return builder.run()


def jsonl_run(data: bytes) -> Run:
    """An events.jsonl's bytes into a Run, the way ``analyzer.load`` reads one (its bulk
    reader always applies)."""
    from analyzer.parsers import jsonl
    run = bulk_run(jsonl, data)
    assert run is not None
    return run


def assert_same_run(a: Run, b: Run) -> None:
    """Every frame, the metadata, segments, end and statistics are equal (bit for bit)."""
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True,
                                      obj=name)
    assert a.meta == b.meta
    assert a.segments == b.segments
    assert a.end == b.end
    sa, sb = a.stats, b.stats
    assert (sa.lines, sa.parsed, sa.skipped, sa.samples) == \
        (sb.lines, sb.parsed, sb.skipped, sb.samples)


def of_type(evs: list[dict[str, Any]], etype: str) -> list[dict[str, Any]]:
    return [e for e in evs if e["type"] == etype]


def real_names(folder: str, pattern: str = "*") -> list[str]:
    """File names of the real logs in a realdata folder, for parametrize (they ship in
    tests/data/realdata; an empty set is a skip, which fails the suite: see tests/conftest.py)."""
    from tests.conftest import REALDATA
    return sorted(p.name for p in (REALDATA / folder).glob(pattern) if p.is_file())
