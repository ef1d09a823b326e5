"""Follow a log while it is written: read only the appended bytes, for every format.

    f = Follower("logs/run1/events.jsonl")     # or a run directory, or a nanoGPT train.log
    while True:
        up = f.poll()                          # cheap when nothing changed: one fstat
        if up.reset: ...                       # truncated, replaced or deleted: start over
        for ev in up.new_events: ...           # schema events, in file order
        run = f.run                            # the Run so far (None until the format is known)

A follower keeps the byte offset up to the last complete line and holds back a half-written
last line until its newline arrives. It notices that the file was truncated (size below the
offset), replaced (another inode or device) or rewritten in place (the first bytes, or the
bytes just before the offset, changed), and then starts over from the top with ``reset``
set. The format is detected from the first lines once there are enough of them, then that
format's streaming Parser reads each new block of lines. ``run`` is cheap: the iteration
table is a view of growing arrays (analyzer.run.RunBuilder), not rebuilt per poll.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from analyzer import parsers as registry
from analyzer.loader import (EVENTS_FILE, UnknownFormat, detect_lines, failed_launch,
                             head_lines, log_run_id, other_reads)
from analyzer.parsers._text import split_lines
from analyzer.run import Run, RunBuilder
from gptscope.schema import SCHEMA_VERSION

_READ = 64 << 20        # bytes read per step once the format's parser reads the lines
_BULK = 1 << 20         # a first read bigger than this goes through the format's bulk reader
_PROBE = 64             # bytes compared at the top and before the offset to spot a rewrite
# While a file has fewer than HEAD_LINES lines, a log that has only printed header lines may
# still turn out to be another format: fix it early only on a training line (SURE) or on a
# header hint (HINT) that no other format shares.
SURE, HINT = 0.9, 0.5


class LazyEvents(Sequence):
    """The events of one poll. Rows read by the columnar reader become event dicts only
    when looked at, so catching up with a million-line file does not build a million dicts;
    ``len()`` is always cheap."""

    def __init__(self, pieces: list[tuple] | None = None):
        self._pieces = pieces or []
        self._n = sum(_piece_len(p) for p in self._pieces)
        self._list: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return self._n

    def _events(self) -> list[dict[str, Any]]:
        if self._list is None:
            out: list[dict[str, Any]] = []
            for piece in self._pieces:
                kind = piece[0]
                out.extend(piece[1] if kind == "events" else _row_events(*piece[1:])
                           if kind == "rows" else _run_events(piece[1]))
            self._list, self._pieces = out, []
        return self._list

    def __getitem__(self, i: Any) -> Any:
        return self._events()[i]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._events())

    def __repr__(self) -> str:
        return f"LazyEvents({self._n} events)"


def _row_events(cols: dict[str, np.ndarray], info: dict[str, Any]) -> list[dict[str, Any]]:
    """iter events back from fast-read columns, keys in the order the file had them."""
    head = {"type": "iter", "v": info["v"], "run_id": info["run_id"]}
    keys = info["keys"][3:]
    values = {}
    for k in keys:
        if k == "step":
            values[k] = [None if m else int(s) for s, m in
                         zip(cols["step"].tolist(), cols["step_mask"].tolist())]
        elif k == "eval_inclusive":
            values[k] = cols[k].tolist()
        elif k == "slowest_rank":
            values[k] = [None if x != x else int(x) for x in cols[k].tolist()]
        else:
            values[k] = [None if x != x else x for x in cols[k].tolist()]
    return [{**head, **dict(zip(keys, row))} for row in zip(*(values[k] for k in keys))]


def _piece_len(piece: tuple) -> int:
    if piece[0] == "events":
        return len(piece[1])
    if piece[0] == "rows":
        return len(piece[1]["segment"])
    run = piece[1]
    return (bool(run.meta) + len(run.iters) + len(run.evals) + len(run.metrics)
            + len(run.checkpoints) + len(run.anomalies) + (run.end is not None))


_TABLES = (("iters", "iter"), ("evals", "eval"), ("metrics", "metric"),
           ("checkpoints", "checkpoint"), ("anomalies", "anomaly"))


def _run_events(run: Run) -> list[dict[str, Any]]:
    """Events rebuilt from the tables of a Run read at once (a vectorised reader keeps no
    event list): the first run_start, then the rows by segment and step, then run_end. The
    order within a step, and the start of later segments, are not kept."""
    head = {"v": SCHEMA_VERSION, "run_id": run.meta.get("run_id")}
    rows = []
    for order, (table, etype) in enumerate(_TABLES):
        frame = getattr(run, table)
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        for i, rec in enumerate(records):
            seg = rec.pop("segment")
            ev = {"type": etype, **head, **rec}
            rows.append(((seg, -1 if ev["step"] is None else ev["step"], order, i), ev))
    rows.sort(key=lambda r: r[0])
    start = [{"type": "run_start", "v": SCHEMA_VERSION, **run.meta}] if run.meta else []
    return start + [ev for _, ev in rows] + ([run.end] if run.end is not None else [])


@dataclass
class Update:
    """What one poll found."""
    new_events: Sequence[dict[str, Any]] = field(default_factory=LazyEvents)
    """The events read from the new lines, in file order (schema events)."""
    reset: bool = False
    """Everything read before is void (the file was truncated, replaced or deleted); the
    events start again from the top of the file."""
    missing: bool = False
    """The file does not exist (yet, or any more)."""
    error: str | None = None
    """A one-line problem, e.g. the file is in no known format (also ``Follower.error``)."""
    format: str | None = None
    """The detected format, once known."""

    @property
    def events(self) -> Sequence[dict[str, Any]]:
        return self.new_events

    @property
    def changed(self) -> bool:
        """True when the run differs from before this poll."""
        return self.reset or len(self.new_events) > 0


class Follower:
    """Reads a growing log incrementally; see the module docstring.

    ``path``: a log file, or a run directory (its events.jsonl). ``format``: a parser NAME
    to skip detection. Not thread-safe: one thread polls.
    """

    def __init__(self, path: str | os.PathLike, format: str | None = None):
        p = Path(path)
        self.path = p / EVENTS_FILE if p.is_dir() else p
        self.forced_format = format
        self.error: str | None = None
        self._start_over()

    def _start_over(self) -> None:
        self.offset = 0          # bytes read: everything before it is whole lines
        self.lineno = 1          # number of the next line
        self.format: str | None = None
        self._ident: tuple[int, int] | None = None
        self._top = b""          # the file's first bytes and the last bytes read: if they
        self._last = b""         # change, the file was rewritten in place
        self._held = bytearray()  # whole lines held until the format is known
        self._parser: Any = None
        self._builder: RunBuilder | None = None
        self._failed = False     # no format found in the first lines: stop trying
        self._generic_at = 0     # size at which to ask again whether generic reads it

    @property
    def run(self) -> Run | None:
        """The run read so far; None until the format is known."""
        if self._builder is None:
            return None
        return self._builder.run()

    @property
    def stats(self):  # -> ParseStats | None
        return None if self._builder is None else self._builder.stats

    def poll(self) -> Update:
        """Read what was appended since the last poll."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            had = self._ident is not None
            self._start_over()
            self.error = f"{self.path}: no such file"
            return Update(reset=had, missing=True, error=self.error)
        except OSError as e:
            self.error = f"{self.path}: {e.strerror or e}"
            return Update(error=self.error, format=self.format)
        try:
            return self._poll(fd)
        finally:
            os.close(fd)

    def _poll(self, fd: int) -> Update:
        st = os.fstat(fd)
        reset = self._ident is not None and self._changed(fd, st)
        if reset:
            self._start_over()
        self._ident = (st.st_dev, st.st_ino)
        pieces: list[tuple] = []
        while self.offset < st.st_size:
            # until the format's parser reads lines, the whole backlog in one read: a bulk
            # reader starts from the top of the file, and catches up with it in one go
            want = st.st_size - self.offset if self._parser is None else _READ
            data = os.pread(fd, min(want, st.st_size - self.offset), self.offset)
            end = data.rfind(b"\n") + 1
            if end == 0:
                if len(data) < _READ:
                    break   # a half-written last line: wait for its newline
                end = len(data)  # a line longer than a read: take it in pieces
            data = data[:end]
            if self.offset == 0:
                self._top = data[:_PROBE]
            self._last = data[-_PROBE:]
            self.offset += end
            pieces += self._feed(data)
        if self._to_generic(fd):
            up = self._poll(fd)
            return Update(up.new_events, reset=True, error=up.error, format=up.format)
        self.error = str(UnknownFormat(self.path, registry.names())) if self._failed else None
        return Update(LazyEvents(pieces), reset=reset, error=self.error, format=self.format)

    def _to_generic(self, fd: int | None) -> bool:
        """As load(): a detected format that has read no iteration where another format
        (the generic reader last) reads some is replaced by it (the file is read again from
        the top). Asked again each time the file has doubled, so a long header is not
        re-read at every poll."""
        if (self.forced_format or self.format is None or self._builder is None
                or self._builder.iters.n or self.offset < self._generic_at):
            return False
        self._generic_at = 2 * self.offset
        if fd is None:
            with open(self.path, "rb") as f:
                data = f.read(self.offset)
        else:
            data = os.pread(fd, self.offset, 0)
        other = other_reads(data, self.path, self.format)
        if other is None:
            return False
        self.forced_format = other[0]
        self._start_over()
        return True

    def _failed_launch(self) -> bool:
        """As load(): a finished file no format recognises that holds a training job dying
        before its first line of data is read by the generic reader (from the top)."""
        if not self._failed or self.forced_format is not None:
            return False
        with open(self.path, "rb") as f:
            data = f.read(self.offset)
        if failed_launch(data, self.path) is None:
            return False
        self.forced_format = "generic"
        self._start_over()
        return True

    def _changed(self, fd: int, st: os.stat_result) -> bool:
        """Was the file truncated, replaced or rewritten since the last poll?"""
        if (st.st_dev, st.st_ino) != self._ident or st.st_size < self.offset:
            return True
        if os.pread(fd, len(self._top), 0) != self._top:
            return True
        return os.pread(fd, len(self._last), self.offset - len(self._last)) != self._last

    def _feed(self, data: bytes, final: bool = False) -> list[tuple]:
        """Whole lines into the parser (held back until the format is known)."""
        if self._failed or (not data and self._parser is not None):
            return []
        if self._parser is None:
            self._held += data
            if not self._choose_format(final):
                return []
            data, self._held = self._held, bytearray()
            if len(data) > _BULK and not final and data.endswith(b"\n"):
                caught = self._bulk(data)
                if caught is not None:
                    return caught
        lines = split_lines(data)
        if data.endswith(b"\n"):
            lines.pop()  # the empty text after the last newline
        events = self._parser.feed(lines, self.lineno)
        self.lineno += len(lines)
        return self._add(lambda b: b.add_events(events))

    def _bulk(self, data: bytearray) -> list[tuple] | None:
        """A big first read (catching up with a long file) through the format's bulk
        reader, when it has one that applies; its Parser then reads the lines after."""
        read_bulk = getattr(registry.get(self.format), "read_bulk", None)
        if read_bulk is None:
            return None
        parser = None

        def read(builder: RunBuilder) -> None:
            nonlocal parser
            parser = read_bulk(builder, data, run_id=log_run_id(self.path),
                               first_lineno=self.lineno, final=False)
        pieces = self._add(read)
        if parser is None:
            return None
        self._parser = parser
        self.lineno += data.count(b"\n")
        return pieces

    def _choose_format(self, final: bool) -> bool:
        """Pick the format from the held lines once they are conclusive."""
        name = self.forced_format
        if name is None:
            held = self._held
            n = held.count(b"\n")
            if final or n >= registry.HEAD_LINES:  # as load() decides
                name = detect_lines(held)
            else:
                name = _early(registry.scores(head_lines(held, 256 << 10,
                                                         registry.HEAD_LINES)))
            if name is None:
                if final or n >= registry.LONG_HEAD_LINES or len(held) >= 4 << 20:
                    self._failed, self._held = True, bytearray()
                return False
        mod = registry.get(name)
        self.format = mod.NAME
        self._parser = mod.Parser(run_id=log_run_id(self.path))
        self._builder = RunBuilder(mod.NAME, str(self.path), stats=self._parser.stats)
        return True

    def _add(self, action: Any) -> list[tuple]:
        """Run ``action(builder)``; return what it added, as LazyEvents pieces."""
        builder = self._builder
        builder.journal = []
        try:
            action(builder)
            return builder.journal
        finally:
            builder.journal = None

    def finish(self) -> Update:
        """The writer is done: also read a last line without a newline, settle the format
        with what there is, and flush the parser."""
        up = self.poll()
        if up.missing:
            return up
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                tail = f.read()
        except OSError:
            tail = b""
        self.offset += len(tail)
        pieces = list(up.new_events._pieces) if isinstance(up.new_events, LazyEvents) else []
        if self.format == "gptscope" and tail:  # a cut last event is ignored, as load does
            from analyzer.parsers.jsonl import read_last_line
            pieces += self._add(lambda b: read_last_line(b, tail))
            tail = b""
        pieces += self._feed(tail + (b"\n" if tail and not tail.endswith(b"\n") else b""),
                             final=True)
        if self._parser is not None:
            pieces += self._add(lambda b: b.add_events(self._parser.finish()))
        if self._to_generic(None) or self._failed_launch():
            up = self.finish()
            return Update(up.new_events, reset=True, error=up.error, format=up.format)
        self.error = str(UnknownFormat(self.path, registry.names())) if self._failed else None
        return Update(LazyEvents(pieces), reset=up.reset, error=self.error,
                      format=self.format)


def _early(ranked: list[tuple[float, str]]) -> str | None:
    """The format from a few first lines, when that is already unambiguous."""
    if not ranked:
        return None
    (best, name), rest = ranked[0], [score for score, _ in ranked[1:]]
    if best >= SURE or (best >= HINT and not any(rest)):
        return name
    return None
