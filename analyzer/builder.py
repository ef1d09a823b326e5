"""``RunBuilder``: gathers events (and ready-made iteration columns from the fast readers) into
a Run piece by piece, with exactly the result of ``Run.from_events``. The loader, the parsers'
bulk readers and the ``Follower`` share it, so a run read at once and a run followed line by
line are the same Run.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from analyzer.run import (ANOMALY_COLUMNS, CHECKPOINT_COLUMNS, EVAL_COLUMNS, ITER_COLUMNS,
                          METRIC_COLUMNS, ParseStats, Run, _frame, _FLOAT_EVAL, _FLOAT_ITER,
                          as_float, as_step)

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
