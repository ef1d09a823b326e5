"""``load(path) -> Run``: read any supported log, its format detected from its content.

Also home of ``RunBuilder``, which gathers events (and ready-made iteration columns from the
fast readers) into a Run piece by piece, with exactly the result of ``Run.from_events``; the
loaders and the ``Follower`` share it, so a run read at once and a run followed line by line
are the same Run.
"""
from __future__ import annotations

import inspect
import os
import re
import sys
import types
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from analyzer import parsers as registry
from analyzer.run import (ANOMALY_COLUMNS, CHECKPOINT_COLUMNS, EVAL_COLUMNS, ITER_COLUMNS,
                          METRIC_COLUMNS, ParseStats, Run, _frame, _FLOAT_EVAL, _FLOAT_ITER,
                          as_float, as_step)

EVENTS_FILE = "events.jsonl"  # what a run directory holds
_BLOCK = 8 << 20              # bytes handed to a streaming parser at a time
_HEAD = 4 << 20               # bytes read for detection


class LoadError(Exception):
    """A file cannot be read as a run. ``str()`` is one line naming the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


class UnknownFormat(LoadError):
    """No parser recognises the file; ``tried`` lists the formats that were tried."""

    def __init__(self, path: str | os.PathLike, tried: Sequence[str]):
        self.tried = list(tried)
        super().__init__(path, "not a training log in a known format (tried: "
                         + ", ".join(self.tried) + ")")


# -- building a Run ------------------------------------------------------------------------

_OTHER = {"eval": (EVAL_COLUMNS, _FLOAT_EVAL), "metric": (METRIC_COLUMNS, ["time", "value"]),
          "checkpoint": (CHECKPOINT_COLUMNS, ["time", "val_loss"]),
          "anomaly": (ANOMALY_COLUMNS, ["time"])}


def _to_float(value: Any) -> float:
    if value is None:
        return np.nan
    return as_float(value)  # as Run.from_events does


class _IterColumns:
    """The iteration table as growing numpy columns (capacity doubles, rows never change).

    ``frame()`` hands out DataFrames that are views of these arrays: O(1) however long the
    run. The views are derived from one master frame, so pandas' copy-on-write copies a
    column before anyone writes into it: a caller can never change our buffers.
    """

    def __init__(self) -> None:
        self.n = 0
        # Run.from_events leaves slowest_rank to pandas' inference: int64 when every row has
        # one, object when every row has an explicit null, float64 otherwise. Count both.
        self.rank_ints = self.rank_nulls = 0
        self.cols: dict[str, np.ndarray] = {}
        self._master: pd.DataFrame | None = None
        self._alloc(0)

    def _alloc(self, capacity: int) -> None:
        new = {c: np.empty(capacity, np.float64) for c in _FLOAT_ITER + ["slowest_rank"]}
        new.update(segment=np.empty(capacity, np.int64), step=np.empty(capacity, np.int64),
                   step_mask=np.empty(capacity, bool), eval_inclusive=np.empty(capacity, bool))
        for c, old in self.cols.items():
            new[c][:self.n] = old[:self.n]
        self.cols, self._master = new, None

    def reserve(self, extra: int) -> None:
        capacity = len(self.cols["segment"])
        if self.n + extra > capacity:
            self._alloc(max(self.n + extra, 2 * capacity, 1024))

    def append(self, columns: dict[str, Any], n: int, segment: int,
               rank_nulls: int | None = None) -> None:
        """Append n rows; a column not given is missing (NaN, null step, False).
        ``rank_nulls``: how many NaN slowest_rank values were explicit nulls (default:
        all of them when the column is given)."""
        self.reserve(n)
        a, b = self.n, self.n + n
        for c, arr in self.cols.items():
            if c in columns:
                arr[a:b] = columns[c]
            elif c == "segment":
                arr[a:b] = segment
            elif c == "step":
                arr[a:b] = 0
            elif c == "step_mask":  # no step column: every step is null
                arr[a:b] = "step" not in columns
            elif c == "eval_inclusive":
                arr[a:b] = False
            else:
                arr[a:b] = np.nan
        if "slowest_rank" in columns:
            nan = int(np.isnan(self.cols["slowest_rank"][a:b]).sum())
            self.rank_ints += n - nan
            self.rank_nulls += nan if rank_nulls is None else rank_nulls
        self.n = b

    def append_events(self, events: Sequence[dict[str, Any]], segment: int) -> None:
        cols: dict[str, Any] = {
            c: [v if (v := e.get(c)).__class__ is float else _to_float(v) for e in events]
            for c in _FLOAT_ITER + ["slowest_rank"]}
        steps = [s if (s := e.get("step")).__class__ is int and -2**63 <= s < 2**63
                 else as_step(s) for e in events]
        cols["step_mask"] = [s is None for s in steps]
        cols["step"] = [0 if s is None else s for s in steps]
        cols["eval_inclusive"] = [bool(e.get("eval_inclusive")) for e in events]
        nulls = sum(1 for e in events if "slowest_rank" in e and e["slowest_rank"] is None)
        self.append(cols, len(events), segment, rank_nulls=nulls)

    def frame(self) -> pd.DataFrame:
        if self.n == 0:
            return _frame([], ITER_COLUMNS, _FLOAT_ITER)
        if self._master is None:
            c = self.cols
            data: dict[str, Any] = {k: c[k] for k in ITER_COLUMNS}
            data["step"] = pd.arrays.IntegerArray(c["step"], c["step_mask"])
            self._master = pd.DataFrame(data, columns=ITER_COLUMNS, copy=False)
        df = self._master.iloc[:self.n]
        if self.rank_ints == self.n:
            df = df.assign(slowest_rank=self.cols["slowest_rank"][:self.n].astype(np.int64))
        elif self.rank_nulls == self.n:
            df = df.assign(slowest_rank=np.full(self.n, None, dtype=object))
        return df

    def view(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The rows [start, stop) as numpy views (they stay valid: rows never change)."""
        return {c: a[start:stop] for c, a in self.cols.items()}


class RunBuilder:
    """Gathers events into a Run incrementally; ``run()`` equals ``Run.from_events``.

    Feed it events in file order with ``add_events``; a fast reader may instead hand over
    whole columns of ``iter`` rows with ``add_iter_columns``. ``run()`` is cheap: the
    iteration table is a view of growing arrays and the small tables are rebuilt only when
    they changed.
    """

    def __init__(self, format: str, source: str | None = None,
                 stats: ParseStats | None = None):
        self.format, self.source = format, source
        self.stats = stats if stats is not None else ParseStats()
        self.iters = _IterColumns()
        self.rows: dict[str, list[dict[str, Any]]] = {k: [] for k in _OTHER}
        self.meta: dict[str, Any] = {}
        self.segments: list[dict[str, Any]] = []
        self.end: dict[str, Any] | None = None
        self.segment = 0
        self._frames: dict[str, pd.DataFrame] = {}
        # (row index, run_id) whenever the run_id of iter rows changes: lets a follower
        # turn fast-read rows back into events (see follow.Update)
        self.journal: list[tuple] | None = None

    @property
    def n_rows(self) -> int:
        return self.iters.n + sum(len(r) for r in self.rows.values())

    def add_events(self, events: Iterable[dict[str, Any]]) -> None:
        pending: list[dict[str, Any]] = []  # consecutive iter events, appended in one go

        def flush() -> None:
            if pending:
                self.iters.append_events(pending, self.segment)
                pending.clear()

        events = list(events)
        if self.journal is not None and events:
            self.journal.append(("events", events))
        for ev in events:
            etype = ev.get("type")
            if etype == "iter":
                pending.append(ev)
                continue
            flush()
            if etype in ("run_start", "resume"):
                if self.segments or self.n_rows:
                    self.segment += 1
                self.segments.append({"segment": self.segment, "kind": etype,
                                      "step": ev.get("step"), "time": ev.get("time")})
                if etype == "run_start" and not self.meta:
                    self.meta = {k: v for k, v in ev.items() if k not in ("type", "v")}
            elif etype in self.rows:
                self.rows[etype].append({**ev, "segment": self.segment})
                self._frames.pop(etype, None)
            elif etype == "run_end":
                self.end = ev
        flush()

    def add_iter_columns(self, columns: dict[str, np.ndarray], n: int,
                         layout: dict[str, Any] | None = None) -> None:
        """Append n iter rows given as numpy columns (names as in ITER_COLUMNS; ``step``
        int64 with an optional boolean ``step_mask`` of nulls). ``layout`` (run_id, v, keys)
        lets a follower rebuild the events; it is only kept when journaling."""
        if n <= 0:
            return
        start = self.iters.n
        self.iters.append(columns, n, self.segment)
        if self.journal is not None:
            self.journal.append(("rows", self.iters.view(start, start + n), layout or {}))

    def add_run(self, run: Run) -> None:
        """Start from a Run read at once (a fast reader's catch-up with a big file); events
        added later continue it as if all had been added one by one."""
        it = run.iters
        cols: dict[str, Any] = {c: it[c].to_numpy(dtype=np.float64, na_value=np.nan)
                                for c in _FLOAT_ITER + ["slowest_rank"]}
        cols["segment"] = it["segment"].to_numpy(dtype=np.int64)
        cols["step_mask"] = it["step"].isna().to_numpy()
        cols["step"] = it["step"].fillna(0).to_numpy(dtype=np.int64)
        cols["eval_inclusive"] = it["eval_inclusive"].to_numpy(dtype=bool)
        nulls = int(it["slowest_rank"].isna().sum()) if it["slowest_rank"].dtype == object \
            else 0
        self.iters.reserve(2 * len(it))  # room to grow: pages not yet written cost no RAM
        self.iters.append(cols, len(it), 0, rank_nulls=nulls)
        for etype, frame in [("eval", run.evals), ("metric", run.metrics),
                             ("checkpoint", run.checkpoints), ("anomaly", run.anomalies)]:
            rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
            self.rows[etype] += rows
            self._frames.pop(etype, None)
        self.meta, self.end, self.stats = dict(run.meta), run.end, run.stats
        self.segments = list(run.segments)
        segs = [s["segment"] for s in self.segments] + [int(f["segment"].max()) for f in (
            it, run.evals, run.metrics, run.checkpoints, run.anomalies) if len(f)]
        self.segment = max(segs, default=0)
        if self.journal is not None:
            self.journal.append(("run", run))

    def run(self) -> Run:
        for etype, (columns, floats) in _OTHER.items():
            if etype not in self._frames:
                self._frames[etype] = _frame(self.rows[etype], columns, floats)
        f = self._frames
        return Run(iters=self.iters.frame(), evals=f["eval"], metrics=f["metric"],
                   checkpoints=f["checkpoint"], anomalies=f["anomaly"], meta=dict(self.meta),
                   format=self.format, source=self.source, stats=self.stats, end=self.end,
                   segments=list(self.segments))


# -- reading files -------------------------------------------------------------------------

def resolve(path: str | os.PathLike) -> Path:
    """The log file a path names: a run directory stands for its events.jsonl."""
    p = Path(path)
    if p.is_dir():
        if not (p / EVENTS_FILE).is_file():
            raise LoadError(p, f"a directory without {EVENTS_FILE}")
        p = p / EVENTS_FILE
    if not p.exists():
        raise LoadError(p, "no such file")
    if not p.is_file():
        raise LoadError(p, "not a regular file")
    return p


def split_lines(data: bytes | memoryview) -> list[str]:
    """Decode (UTF-8, bad bytes replaced) and split on \\n; a \\r before it is dropped."""
    text = bytes(data).decode("utf-8", errors="replace")
    lines = text.split("\n")
    return [s[:-1] if s.endswith("\r") else s for s in lines]


_NUL_BLOCK = re.compile(b"\0{16,}")


def looks_binary(head: bytes) -> bool:
    """Mostly not text in the first kilobytes: NUL bytes all through it (a binary file, UTF-16
    text) or mostly undecodable bytes. A few damaged lines are not enough (parsers skip and
    count them), nor is a block of NULs: a crash (a power cut on a filesystem with delayed
    allocation) pads a log with them, and the lines around them are still a log."""
    head = head[:8192]
    if b"\0" in head:
        head = _NUL_BLOCK.sub(b"", head)
        damaged = sum(len(line) + 1 for line in head.split(b"\n") if b"\0" in line)
        if not head.strip() or damaged > len(head) // 4:
            return True
    text = head.decode("utf-8", errors="replace")
    return len(text) > 64 and text.count("\ufffd") > len(text) // 4


def head_lines(data: Any, size: int, limit: int, complete: bool = True) -> list[str]:
    """The first ``limit`` lines of a file's bytes (``data``: the file, or its first bytes
    when not ``complete``), without a last line cut short by a byte limit."""
    head = data[:size]
    lines = split_lines(head)
    if (len(data) > size or not complete) and not head.endswith(b"\n"):
        lines.pop()  # cut by the byte limit, not by the writer
    return lines[:limit]


def detect_format(path: str | os.PathLike, data: Any, complete: bool = True) -> str:
    """The format name of a file from its first lines (more of them when the first ones
    are not conclusive); UnknownFormat if no parser is confident. ``data``: the file's
    bytes (or mmap), or with ``complete=False`` only its first ones (4 MB are enough)."""
    head = head_lines(data, 256 << 10, registry.HEAD_LINES + 1, complete)
    name = registry.detect(head[:registry.HEAD_LINES])
    if name is None and len(head) > registry.HEAD_LINES:
        name = registry.detect(head_lines(data, _HEAD, registry.LONG_HEAD_LINES, complete))
    if name is None:  # a log pasted into a script or notes as '# ' comments
        name = registry.detect([t[2:] if t.startswith("# ") else t for t in head])
    if name is None:
        raise UnknownFormat(path, registry.names())
    return name


def load(path: str | os.PathLike, format: str | None = None,
         tag_map: dict[str, str] | None = None) -> Run:
    """Read a run from a log file (or a run directory), detecting the format from content.

    ``format`` (a parser NAME such as 'nanogpt') skips detection. Unreadable lines are
    skipped and counted in ``run.stats``; a file that is missing, empty, binary or in no
    known format raises LoadError (UnknownFormat), whose message is one line.
    ``tag_map`` ({tag: metric}, the CLI's ``--map``) renames the series of the scalar
    formats (TensorBoard, Hugging Face Trainer, Lightning).
    """
    claimed = _read_claimed(Path(path), format, tag_map)
    if claimed is not None:
        return claimed
    p = resolve(path)
    try:
        with open(p, "rb") as f:
            head = f.read(_HEAD)
            if not head:
                raise LoadError(p, "empty file")
            if looks_binary(head):
                raise LoadError(p, "binary data, not a text log")
            if len(head) < _HEAD and not head.strip():
                raise LoadError(p, "empty file (only blank lines)")
            mod = _module(p, format or detect_format(p, head, complete=len(head) < _HEAD))
            if tag_map and not getattr(mod, "MAPS_TAGS", False):
                raise LoadError(p, f"--map does not apply to the {mod.NAME} format (only "
                                   "to TensorBoard, Hugging Face Trainer and Lightning runs)")
            if tag_map:
                run = mod.parse_path(p, run_id=log_run_id(p), tag_map=tag_map)
            elif hasattr(mod, "parse_path"):  # reads the file itself, block by block
                run = mod.parse_path(p, run_id=log_run_id(p))
            else:
                run = _parse_bytes(mod, head + f.read(), log_run_id(p))
            if format is None and not len(run.iters) and mod.NAME != "generic":
                run = _generic_fallback(mod, p, run)
    except OSError as e:
        raise LoadError(p, e.strerror or str(e)) from None
    run.source = str(p)
    return run


def _generic_fallback(mod: Any, path: Path, run: Run) -> Run:
    """A detected format that read no iteration (a fork that kept nanoGPT's header and eval
    lines but prints its own step lines): the generic reader's Run if it reads any."""
    try:
        generic = registry.get("generic")
    except KeyError:
        return run
    data = path.read_bytes()
    head = head_lines(data, 256 << 10, registry.LONG_HEAD_LINES)
    if generic.detect(head) <= 0:
        return run
    alt = parse_stream(generic, data, run_id=log_run_id(path))
    return alt if len(alt.iters) else run


def _read_claimed(path: Path, format: str | None, tag_map: dict[str, str] | None) -> Run | None:
    """A run that a format reads whole from its path, formats with ``claims_path``: a
    TensorBoard event file (binary) or directory of them, a directory holding a
    trainer_state.json or a Lightning metrics.csv."""
    for name, mod in registry.parsers().items():
        claims = getattr(mod, "claims_path", None)
        if claims is None or (format and format != name) or not claims(path):
            continue
        try:
            run = mod.parse_path(path, run_id=log_run_id(path), tag_map=tag_map)
        except ImportError as e:  # an optional extra that is not installed: say which
            raise LoadError(path, str(e)) from None
        except OSError as e:
            raise LoadError(path, e.strerror or str(e)) from None
        if not run.stats.lines:
            raise LoadError(path, f"nothing readable as {name}")
        run.source = str(path)
        return run
    return None


def _module(path: Path, name: str) -> Any:
    try:
        return registry.get(name)
    except KeyError:
        raise LoadError(path, f"unknown format {name!r} (known: "
                              f"{', '.join(registry.names())})") from None


def _parse_bytes(mod: Any, data: bytes, run_id: str) -> Run:
    run = None
    fast = getattr(mod, "parse_file_fast", None)
    if fast is not None:
        named = "run_id" in inspect.signature(fast).parameters
        run = fast(data, run_id=run_id) if named else fast(data)
    return run if run is not None else parse_stream(mod, data, run_id=run_id)


def log_run_id(path: Path) -> str:
    """The run_id given to a foreign log's events: its file name without extension (the
    parsers' stand-in for the id our own events carry)."""
    return path.stem


def parse_stream(mod: Any, data: Any, run_id: str = "log") -> Run:
    """Any format through its streaming Parser, a block of lines at a time, so memory holds
    the columns of the events rather than the whole text."""
    parser = mod.Parser(run_id=run_id)
    builder = RunBuilder(mod.NAME, stats=parser.stats)
    for lineno, lines in blocks(data):
        builder.add_events(parser.feed(lines, lineno))
    builder.add_events(parser.finish())
    return builder.run()


def blocks(data: Any, size: int = _BLOCK) -> Iterator[tuple[int, list[str]]]:
    """(first line number, lines) of whole lines, a few MB at a time: memory stays
    proportional to the events, not to the file."""
    lineno, pos, total = 1, 0, len(data)
    while pos < total:
        end = min(pos + size, total)
        if end < total:
            cut = data.rfind(b"\n", pos, end)
            end = cut + 1 if cut >= 0 else end  # a line longer than a block is cut; rare
        lines = split_lines(data[pos:end])
        if lines and lines[-1] == "" and data[end - 1:end] == b"\n":
            lines.pop()  # the text after the last newline is empty, not a line
        yield lineno, lines
        lineno += len(lines)
        pos = end


class _CallableModule(types.ModuleType):
    """``analyzer.load`` names both this module and its function (the package imports
    nothing eagerly, to stay light): calling the module calls ``load``."""

    def __call__(self, path: str | os.PathLike, format: str | None = None,
                 tag_map: dict[str, str] | None = None) -> Run:
        return load(path, format, tag_map)


sys.modules[__name__].__class__ = _CallableModule
