"""The in-memory form of a run that every parser produces and every diagnostic consumes.

A parser turns a log (ours or a foreign one) into schema events; ``RunBuilder`` gathers them
(or the columns of a bulk reader) into DataFrames, and is the only way a Run is made:
``Run.from_events``, ``analyzer.load`` and the ``Follower`` all use it, so that diagnostics,
reports and the dashboard never care where a run came from.

Segments: one file can hold several runs or a run and its resume. Each piece gets its own
``segment`` number (0, 1, ...), so two runs' steps are never merged into one curve.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

# The tables of a Run, defined here only: each table's columns in order, and which of them
# are float64 (a missing value is NaN). The others: ``segment`` int64, ``step`` nullable Int64,
# ``eval_inclusive`` bool, text columns object; ``slowest_rank`` is int64 when every row has
# one, object when every row has an explicit null, else float64 (pandas' inference on the
# events, which the iteration table keeps: see _IterColumns.frame).
# Formats read from stdout by a StdoutParser: their event times are the log's own clock,
# summed from the printed step times (an event printed after an iteration line has that
# line's time), and the parser writes an anomaly event for every non-finite loss it reads.
STDOUT_FORMATS = frozenset({"nanogpt", "buildnanogpt", "llmc", "modded", "nanochat",
                            "generic", "hf_trainer", "fairseq",
                            "metrics_jsonl"})
# the formats read from named series (analyzer/parsers/_scalars.py): a non-finite loss the
# series holds gets an anomaly row too, and a step where only another series (the lr of a
# val-only row) has a point has no loss at all, never a NaN one
SCALAR_FORMATS = frozenset({"lightning", "tensorboard", "hf_trainer_state"})
ITER_COLUMNS = ["segment", "step", "time", "loss", "lr", "grad_norm", "dt_ms", "step_ms",
                "eval_inclusive", "tokens_per_s", "mfu", "mfu_smoothed", "step_ms_min",
                "step_ms_max", "slowest_rank"]
EVAL_COLUMNS = ["segment", "step", "time", "train_loss", "val_loss", "eval_ms", "best_val_loss"]
METRIC_COLUMNS = ["segment", "step", "time", "name", "value"]
CHECKPOINT_COLUMNS = ["segment", "step", "time", "path", "val_loss"]
ANOMALY_COLUMNS = ["segment", "step", "time", "kind", "value", "action"]
TABLES: dict[str, tuple[list[str], list[str]]] = {  # event type: (columns, float columns)
    "iter": (ITER_COLUMNS, ["time", "loss", "lr", "grad_norm", "dt_ms", "step_ms",
                            "tokens_per_s", "mfu", "mfu_smoothed", "step_ms_min",
                            "step_ms_max"]),
    "eval": (EVAL_COLUMNS, ["time", "train_loss", "val_loss", "eval_ms", "best_val_loss"]),
    "metric": (METRIC_COLUMNS, ["time", "value"]),
    "checkpoint": (CHECKPOINT_COLUMNS, ["time", "val_loss"]),
    "anomaly": (ANOMALY_COLUMNS, ["time"]),
}
# the iteration columns held as float64 arrays while a run is built (slowest_rank too)
_ITER_FLOATS = TABLES["iter"][1] + ["slowest_rank"]


@dataclass
class ParseStats:
    """What a parser read, and what it could not. Nothing unreadable is fatal."""
    lines: int = 0
    parsed: int = 0
    skipped: int = 0
    # a few (line number, reason, text) samples of skipped lines, for error messages
    samples: list[tuple[int, str, str]] = field(default_factory=list)
    max_samples: int = 20
    # the schema fields a reader of unknown layouts (the 'generic' format) found, in order
    fields: list[str] = field(default_factory=list)
    # what the evals' val_loss measures when it is not a loss in nats: 'bpb' (nanochat)
    val_unit: str | None = None
    # the log's eval lines print no step (llm.c's stdout 'val loss 4.32'): the reader numbered
    # them, so a summary's step range is that of the printed training steps
    eval_steps_inferred: bool = False

    def skip(self, lineno: int, reason: str, text: str = "") -> None:
        self.skipped += 1
        if len(self.samples) < self.max_samples:
            self.samples.append((lineno, reason, text[:200]))

    def absorb(self, other: "ParseStats") -> None:
        """Add what another reader counted after these lines (a bulk reader counts on its
        own, and hands its figures over only when it could read the lines)."""
        self.lines += other.lines
        self.parsed += other.parsed
        self.skipped += other.skipped
        self.samples += other.samples[:max(0, self.max_samples - len(self.samples))]
        self.fields += [f for f in other.fields if f not in self.fields]
        self.val_unit = self.val_unit or other.val_unit
        self.eval_steps_inferred = self.eval_steps_inferred or other.eval_steps_inferred


@dataclass
class Run:
    """One training run (possibly in several segments) as DataFrames plus metadata."""
    iters: pd.DataFrame
    evals: pd.DataFrame
    metrics: pd.DataFrame
    checkpoints: pd.DataFrame
    anomalies: pd.DataFrame
    meta: dict[str, Any]            # run_start fields + anything a parser read from headers
    format: str                     # parser name: 'gptscope', 'nanogpt', 'llmc', ...
    source: str | None = None       # file path, when loaded from a file
    stats: ParseStats = field(default_factory=ParseStats)
    end: dict[str, Any] | None = None          # the run_end event, if the run ended
    segments: list[dict[str, Any]] = field(default_factory=list)  # per-segment meta

    @property
    def n_segments(self) -> int:
        return max(1, len(self.segments))

    @property
    def name(self) -> str:
        """A short name for titles and column headers: the run id (our events carry it;
        parsers give a foreign log its file stem), else the file's stem or directory."""
        if self.meta.get("run_id"):
            return str(self.meta["run_id"])
        if not self.source:
            return "run"
        p = Path(self.source)
        return p.parent.name or p.stem if p.name == "events.jsonl" else p.stem

    @classmethod
    def from_events(cls, events: Iterable[dict[str, Any]], format: str,
                    source: str | None = None, stats: ParseStats | None = None) -> "Run":
        """Gather schema events into a Run (see ``RunBuilder``). A run_start after the
        first one, or a resume event, starts a new segment."""
        builder = RunBuilder(format, source, stats)
        builder.add_events(events)
        return builder.run()


def as_step(value: Any) -> int | None:
    """A step as the frames hold it: an integer within int64, else None. A hostile log may
    say ``step 10**30``; that is no step, and must not stop the reading of the rest."""
    if isinstance(value, float):
        if not (value == value and value.is_integer()):
            return None
        value = int(value)
    if isinstance(value, int) and -2**63 <= value < 2**63:
        return int(value)
    return None


def as_float(value: Any) -> float:
    """A value as a float column holds it (NaN when it is no number); an integer too big
    for a float is +-inf, as ``1e999`` is."""
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")
    except (TypeError, ValueError):  # None, text: what pd.to_numeric(errors="coerce") does
        return float("nan")


def rows_frame(rows: list[dict[str, Any]], etype: str) -> pd.DataFrame:
    """The table of one event type from its events (each with its ``segment``)."""
    columns, floats = TABLES[etype]
    df = pd.DataFrame(rows, columns=columns)
    for col in floats:
        if df[col].dtype == object:  # where integers too big for a float would be
            df[col] = df[col].map(as_float)
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    # from the rows: a column with nulls would go through float64
    df["step"] = pd.array([as_step(r.get("step")) for r in rows], dtype="Int64")
    df["segment"] = df["segment"].astype("int64")
    if "eval_inclusive" in df:
        df["eval_inclusive"] = df["eval_inclusive"].fillna(False).astype(bool)
    return df


def _to_float(value: Any) -> float:
    return np.nan if value is None else as_float(value)


# The iteration table while it is built: how each column is held, and the value of a row
# that does not have it. A column no row has a value in yet is not held at all: the frame
# shows it as one read-only value repeated (a stride-0 view), so a log that never prints a
# learning rate costs no memory for its lr column.
_DTYPE: dict[str, Any] = {**{c: np.float64 for c in _ITER_FLOATS}, "segment": np.int64,
                          "step": np.int64, "step_mask": np.bool_, "eval_inclusive": np.bool_}
_MISSING: dict[str, Any] = {**{c: np.nan for c in _ITER_FLOATS}, "eval_inclusive": False}
_ALWAYS = ("segment", "step", "step_mask")  # held for every row: step_mask marks null steps


class _IterColumns:
    """The iteration table as growing numpy columns (capacity doubles, rows never change).

    ``frame()`` hands out DataFrames that are views of these arrays: O(1) however long the
    run. The views are derived from one master frame, so pandas' copy-on-write copies a
    column before anyone writes into it: a caller can never change our buffers.
    """

    def __init__(self) -> None:
        self.n = self.capacity = 0
        # slowest_rank's dtype follows pandas' inference on events (see TABLES): count both
        self.rank_ints = self.rank_nulls = 0
        self.cols: dict[str, np.ndarray] = {c: np.empty(0, _DTYPE[c]) for c in _ALWAYS}
        self._master: pd.DataFrame | None = None

    def _alloc(self, capacity: int) -> None:
        for c, old in self.cols.items():
            new = np.empty(capacity, old.dtype)
            new[:self.n] = old[:self.n]
            self.cols[c] = new
        self.capacity, self._master = capacity, None

    def reserve(self, extra: int) -> None:
        if self.n + extra > self.capacity:
            self._alloc(max(self.n + extra, 2 * self.capacity, 1024))

    def _held(self, c: str) -> np.ndarray:
        """Column c's array, made when a first row has a value in it."""
        if c not in self.cols:
            self.cols[c] = np.empty(self.capacity, _DTYPE[c])
            self.cols[c][:self.n] = _MISSING[c]
            self._master = None
        return self.cols[c]

    def _column(self, c: str) -> np.ndarray:
        """Column c over the whole capacity, a stride-0 view of its missing value if not
        held (read-only: pandas copies it before a write)."""
        if c in self.cols:
            return self.cols[c]
        return np.broadcast_to(np.array(_MISSING[c], _DTYPE[c]), (self.capacity,))

    def append(self, columns: dict[str, Any], n: int, segment: int,
               rank_nulls: int | None = None, own: bool = False) -> None:
        """Append n rows; a column not given is missing (NaN, null step, False).
        ``rank_nulls``: how many NaN slowest_rank values were explicit nulls (default:
        all of them when the column is given). ``own``: the arrays are handed over (the
        caller never writes them again): the first append keeps them instead of a copy."""
        given = {c: np.asarray(v, _DTYPE[c]) for c, v in columns.items()}
        if "slowest_rank" in given:
            nan = int(np.isnan(given["slowest_rank"]).sum())
            self.rank_ints += n - nan
            self.rank_nulls += nan if rank_nulls is None else rank_nulls
        given.setdefault("segment", np.full(n, segment, np.int64))
        given.setdefault("step_mask", np.full(n, "step" not in columns))
        given.setdefault("step", np.zeros(n, np.int64))
        for c in list(given):  # a column with no value yet stays unheld
            if c not in self.cols and c not in _ALWAYS and not _has_values(given[c]):
                del given[c]
        if own and self.n == 0 and all(len(v) == n for v in given.values()):
            self.cols = {c: given[c] for c in given}
            self.n = self.capacity = n
            self._master = None
            return
        self.reserve(n)
        a, b = self.n, self.n + n
        for c in set(self.cols) | set(given):
            arr = self._held(c)
            arr[a:b] = given[c] if c in given else _MISSING[c]
        self.n = b

    def append_events(self, events: Sequence[dict[str, Any]], segment: int) -> None:
        cols: dict[str, Any] = {
            c: [v if (v := e.get(c)).__class__ is float else _to_float(v) for e in events]
            for c in _ITER_FLOATS}
        steps = [s if (s := e.get("step")).__class__ is int and -2**63 <= s < 2**63
                 else as_step(s) for e in events]
        cols["step_mask"] = [s is None for s in steps]
        cols["step"] = [0 if s is None else s for s in steps]
        cols["eval_inclusive"] = [bool(e.get("eval_inclusive")) for e in events]
        nulls = sum(1 for e in events if "slowest_rank" in e and e["slowest_rank"] is None)
        self.append(cols, len(events), segment, rank_nulls=nulls)

    def frame(self) -> pd.DataFrame:
        if self.n == 0:
            return rows_frame([], "iter")
        if self._master is None:
            data: dict[str, Any] = {k: self._column(k) for k in ITER_COLUMNS}
            data["step"] = pd.arrays.IntegerArray(self.cols["step"], self.cols["step_mask"])
            self._master = pd.DataFrame(data, columns=ITER_COLUMNS, copy=False)
        df = self._master.iloc[:self.n]
        if self.rank_ints == self.n:
            df = df.assign(slowest_rank=self.cols["slowest_rank"][:self.n].astype(np.int64))
        elif self.rank_nulls == self.n:
            df = df.assign(slowest_rank=np.full(self.n, None, dtype=object))
        return df

    def view(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The rows [start, stop) as numpy views (they stay valid: rows never change)."""
        return {c: self._column(c)[start:stop] for c in _DTYPE}


def _has_values(a: np.ndarray) -> bool:
    """Whether a column holds anything but its missing value (NaN, False)."""
    return bool(a.any()) if a.dtype == np.bool_ else not bool(np.isnan(a).all())


_END_KEYS = ("status", "step", "error")


class RunBuilder:
    """Gathers events into a Run incrementally: the only way a Run is made.

    Feed it events in file order with ``add_events``; a bulk reader may instead hand over
    whole columns of ``iter`` rows with ``add_iter_columns``. ``run()`` is cheap: the
    iteration table is a view of growing arrays and the small tables are rebuilt only when
    they changed.
    """

    def __init__(self, format: str, source: str | None = None,
                 stats: ParseStats | None = None):
        self.format, self.source = format, source
        self.stats = stats if stats is not None else ParseStats()
        self.iters = _IterColumns()
        self.rows: dict[str, list[dict[str, Any]]] = {k: [] for k in TABLES if k != "iter"}
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
                if etype == "run_start" and self.end is not None and self.segments:
                    # the run before ended: its end stays with its segment, and Run.end is
                    # the last run's (a failed launch never makes the next run 'failed')
                    self.segments[-1]["end"] = {k: self.end.get(k) for k in _END_KEYS}
                    self.end = None
                if self.segments or self.n_rows:
                    self.segment += 1
                self.segments.append({"segment": self.segment, "kind": etype,
                                      "step": ev.get("step"), "time": ev.get("time")})
                if etype == "run_start":  # the last run's: every figure is of the last run
                    self.meta = {k: v for k, v in ev.items() if k not in ("type", "v")}
            elif etype == "metric" and ev.get("name") == "max_iters":
                # a parser's late word on the run's planned steps (StdoutParser.planned_steps)
                if self.meta.get("max_iters") is None and ev.get("value") is not None:
                    self.meta["max_iters"] = int(ev["value"])
            elif etype == "metric" and ev.get("name") == "n_params":
                # a count printed after the run's data (StdoutParser._late_params)
                model = self.meta.get("model") or {}
                if model.get("n_params") is None and ev.get("value") is not None:
                    self.meta["n_params"] = int(ev["value"])
            elif etype in self.rows:
                self.rows[etype].append({**ev, "segment": self.segment})
                self._frames.pop(etype, None)
            elif etype == "run_end":
                self.end = ev
        flush()

    def add_iter_columns(self, columns: dict[str, np.ndarray], n: int,
                         layout: dict[str, Any] | None = None, own: bool = False) -> None:
        """Append n iter rows given as numpy columns (names as in ITER_COLUMNS; ``step``
        int64 with an optional boolean ``step_mask`` of nulls; a ``segment`` column, else
        the current segment). ``layout`` (run_id, v, keys) lets a follower rebuild the
        events; it is only kept when journaling. ``own``: the builder may keep the arrays
        instead of copying them (the caller hands them over)."""
        if n <= 0:
            return
        start = self.iters.n
        self.iters.append(columns, n, self.segment, own=own)
        if self.journal is not None:
            self.journal.append(("rows", self.iters.view(start, start + n), layout or {}))

    def run(self) -> Run:
        for etype, rows in self.rows.items():
            if etype not in self._frames:
                self._frames[etype] = rows_frame(rows, etype)
        f = self._frames
        return Run(iters=self.iters.frame(), evals=f["eval"], metrics=f["metric"],
                   checkpoints=f["checkpoint"], anomalies=f["anomaly"], meta=dict(self.meta),
                   format=self.format, source=self.source, stats=self.stats, end=self.end,
                   segments=list(self.segments))
