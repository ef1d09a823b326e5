"""What several diagnostics need of one run, computed once.

Each diagnostic is a pure ``fn(run, config)``, and many need the same things of a run: the
row masks of analyzer.stats (eval-inclusive, warm-up, steady), the throughput statistics,
the iterations in (segment, step) order, the loss spikes. On a 1M-iteration log each of
those costs tens of milliseconds to seconds, and asking for them once per diagnostic made
``run_all`` take seconds (issue #11).

``prepared(run, config)`` gives a Prepared that computes each thing on first use, as numpy
arrays (views of the frame's columns where it can: the iteration frame is never copied).
Inside ``sharing()``, which ``run_all`` opens, the same run and config get the same
Prepared, so each thing is computed once per ``run_all``. Outside it every call gets a new
one, so a diagnostic called on its own never sees a result cached before the Run changed.
The scope is a context variable: threads and asyncio tasks each have their own.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

from analyzer import stats
from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.per_run import only_segments, run_groups
from analyzer.run import Run

T = TypeVar("T")
_SCOPE: ContextVar[list["Prepared"] | None] = ContextVar("analyzer_diagnostics_prepared",
                                                         default=None)


@contextmanager
def sharing() -> Iterator[None]:
    """Within the block, ``prepared`` returns one Prepared per (run, config). A block inside
    another shares the outer one's (a caller can open one around ``run_all`` and its own
    use of the same statistics)."""
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set([])
    try:
        yield
    finally:
        _SCOPE.reset(token)


def prepared(run: Run, config: DiagnosticsConfig) -> "Prepared":
    """The Prepared of ``run`` shared in the current ``sharing()`` block, else a new one."""
    scope = _SCOPE.get()
    if scope is None:
        return Prepared(run, config)
    for p in scope:
        if p.run is run and p.config == config:
            return p
    scope.append(Prepared(run, config))
    return scope[-1]


class Prepared:
    """One run's arrays and derived results, each computed on first use."""

    def __init__(self, run: Run, config: DiagnosticsConfig):
        self.run = run
        self.config = config
        self._memo: dict[str, Any] = {}
        self._columns: dict[str, np.ndarray] = {}

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for, the same object after that
        (for the results of one diagnostic that others use too: the loss spikes)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def column(self, name: str) -> np.ndarray:
        """A float column of the iteration frame as a numpy array (null as NaN)."""
        if name not in self._columns:
            self._columns[name] = self.run.iters[name].to_numpy(dtype=float)
        return self._columns[name]

    @cached_property
    def masks(self) -> stats.RowMasks:
        return stats.row_masks(self.run, self.config.warmup_steps)

    @cached_property
    def throughput(self) -> stats.ThroughputStats:
        return stats.throughput_stats(self.run, self.config.warmup_steps, self.masks)

    @cached_property
    def runs(self) -> list["Prepared"]:
        """One Prepared per independent run in the file (per_run.run_groups, a run with its
        resumes), in file order; [self] when the file holds one. Speed figures of two runs
        are never pooled: each run has its own step time."""
        groups = run_groups(self.run)
        if len(groups) < 2:
            return [self]
        return [Prepared(only_segments(self.run, g), self.config) for g in groups]

    @cached_property
    def segment(self) -> np.ndarray:
        return self.run.iters["segment"].to_numpy(dtype="int64")

    @cached_property
    def has_step(self) -> np.ndarray:
        return self.run.iters["step"].notna().to_numpy()

    @cached_property
    def step(self) -> np.ndarray:
        """The step of each row as int64 (0 where null: see has_step)."""
        return self.run.iters["step"].to_numpy(dtype="int64", na_value=0)

    @cached_property
    def segment_ids(self) -> list[int]:
        """The segments that have iterations, ascending."""
        return [seg for seg, _ in self.groups()]

    @cached_property
    def order(self) -> np.ndarray | None:
        """Row order by segment, then step (null steps last), stable: what a groupby on the
        segment followed by a stable sort on the step gives. None when the rows are in that
        order already (the usual log), so that no 1M-row sort is made for nothing."""
        seg, step, null = self.segment, self.step, ~self.has_step
        if len(seg) < 2:
            return None
        same = seg[1:] == seg[:-1]
        in_order = (seg[1:] >= seg[:-1]) & (~same | null[1:] |
                                            (~null[:-1] & (step[1:] >= step[:-1])))
        return None if in_order.all() else np.lexsort((step, null, seg))

    @cached_property
    def all_rows(self) -> np.ndarray:
        return np.arange(len(self.segment))

    def take(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """values[rows], without a copy when ``rows`` is every row in file order."""
        return values if rows is self.all_rows else values[rows]

    @cached_property
    def stepped(self) -> dict[int, np.ndarray]:
        """Per segment: the positions of its rows that have a step, in step order."""
        return dict(self.groups(self.has_step))

    def groups(self, mask: np.ndarray | None = None) -> list[tuple[int, np.ndarray]]:
        """Per segment, ascending: the positions of its rows where ``mask`` holds, in step
        order (see ``order``)."""
        if self.order is None:
            rows = self.all_rows if mask is None else np.flatnonzero(mask)
            rows = self.all_rows if len(rows) == len(self.all_rows) else rows
        else:
            rows = self.order if mask is None else self.order[mask[self.order]]
        if not len(rows):
            return []
        if self.order is None and self.segment[0] == self.segment[-1]:
            return [(int(self.segment[0]), rows)]  # in order, first = last: one segment
        seg = self.segment[rows]
        cuts = np.flatnonzero(seg[1:] != seg[:-1]) + 1
        return [(int(seg[a]), rows[a:b])
                for a, b in zip(np.append(0, cuts), np.append(cuts, len(rows)))]
