"""PyTorch Lightning ``CSVLogger``'s ``metrics.csv`` (``lightning_logs/version_N/``).

::

    epoch,step,train_loss_step,val_loss,lr-AdamW
    0,49,8.62,,0.001
    0,286,,6.83,
    1,299,6.81,,0.001

Meaning: one header of metric names (``step`` and usually ``epoch`` among them), then one
row per ``log_metrics`` call, sparse: a training row and a validation row at the same step
fill different columns. Columns are mapped like TensorBoard tags
(``analyzer.parsers._scalars``): ``train_loss``/``train_loss_step`` -> loss, ``val_loss`` ->
val_loss, ``lr-<optimizer>`` -> lr, ``grad_norm``...; the others (``epoch``, ``*_epoch``
averages, accuracies) are named metrics. No times, so no throughput, unless a column maps
to ``dt_ms``, or a script's CSV of the same shape has a cumulative clock column
(``CLOCK_COLUMNS``, seconds): a row's clock is then its values' time, as TensorBoard's wall
times are. A version directory with a ``metrics.csv`` in it counts as the run.
"""
from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from analyzer.parsers import _scalars
from analyzer.run import ParseStats, Run

NAME = "lightning"
MAPS_TAGS = True  # parse_path takes a tag_map (the CLI's --map)
FILE = "metrics.csv"
_NAME = re.compile(r"[\w./@:+\-]+")


def _header(line: str) -> list[str] | None:
    if len(line) > 20_000:  # no logger writes thousands of metric names
        return None
    names = [c.strip() for c in line.split(",")]
    if "step" in names and len(names) >= 2 and all(_NAME.fullmatch(n) for n in names):
        return names
    return None


def detect(head: list[str]) -> float:
    """A CSV header with a ``step`` column, then rows of numbers and blanks (mostly)."""
    lines = [h for h in head if h.strip()]
    if not lines or _header(lines[0]) is None:
        return 0.0
    names = _header(lines[0]) or []
    rows = lines[1:20]
    numeric = sum(1 for r in rows if len(r.split(",")) == len(names)
                  and all(_number(c) is not None or not c.strip() for c in r.split(",")))
    if not rows:
        return 0.3
    if numeric * 2 >= len(rows):  # a few damaged rows are skipped and counted, not fatal
        return 0.85 if "epoch" in names else 0.7
    return 0.0


def claims_path(path: str | os.PathLike) -> bool:
    p = Path(path)
    return p.is_dir() and (p / FILE).is_file() and not (p / "events.jsonl").exists()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (ValueError, OverflowError):
        return None


# a script's metrics CSV may carry its clock ('step,train_loss,val_loss,…,elapsed_sec')
CLOCK_COLUMNS = ("elapsed_sec", "elapsed_s", "elapsed", "time_elapsed", "wall_time_s")


class Parser:
    """Streaming: the header, then each row becomes points of its non-empty columns; the
    events come out at ``finish()`` (alignment needs every column's steps)."""

    def __init__(self, run_id: str = "log", tag_map: Mapping[str, str] | None = None):
        self.run_id, self.tag_map = run_id, tag_map
        self.stats = ParseStats()
        self.names: list[str] | None = None
        self._points: dict[str, tuple[list[int], list[float], list[float]]] = {}
        self._clock: str | None = None  # the clock column, if the header has one

    def feed(self, lines: list[str], first_lineno: int) -> list[dict[str, Any]]:
        for i, line in enumerate(lines):
            self._line(line, first_lineno + i)
        return []

    def _line(self, line: str, lineno: int) -> None:
        if not line.strip():
            return
        self.stats.lines += 1
        if self.names is None:
            self.names = _header(line)
            if self.names is None:
                self.stats.skip(lineno, "not a metrics.csv header (no 'step' column)", line)
            else:
                self.stats.parsed += 1
                self._clock = next((c for c in CLOCK_COLUMNS if c in self.names), None)
            return
        cells = next(csv.reader([line[:100_000]]), [])
        if len(cells) != len(self.names):
            self.stats.skip(lineno, f"{len(cells)} columns, the header has "
                                    f"{len(self.names)}", line)
            return
        row = dict(zip(self.names, cells))
        step = _number(row["step"])
        if step is None or not math.isfinite(step) or step != int(step) \
                or not -2**63 <= step < 2**63:
            self.stats.skip(lineno, "no integer step", line)
            return
        self.stats.parsed += 1
        clock = _number(row[self._clock]) if self._clock else None
        for name, cell in row.items():
            if name in ("step", self._clock) or not cell.strip():
                continue
            x = _number(cell)
            if x is None:
                continue
            steps, values, times = self._points.setdefault(name, ([], [], []))
            steps.append(int(step))
            values.append(x)
            times.append(math.nan if clock is None else clock)

    def tables(self) -> _scalars.Tables:
        series = {k: _scalars.Series(np.asarray(s, np.int64), np.asarray(v, np.float64),
                                     np.asarray(t, np.float64) if self._clock else None)
                  for k, (s, v, t) in self._points.items()}
        return _scalars.tables(series, self.tag_map)

    def finish(self) -> list[dict[str, Any]]:
        return _scalars.to_events(self.tables(), NAME, self.run_id)


def parse_path(path: str | os.PathLike, run_id: str = "log",
               tag_map: Mapping[str, str] | None = None) -> Run:
    p = Path(path)
    if p.is_dir():
        p = p / FILE
    parser = Parser(run_id, tag_map)
    with open(p, encoding="utf-8", errors="replace", newline="") as f:
        for lineno, line in enumerate(f, 1):
            parser._line(line.rstrip("\r\n"), lineno)
    return _scalars.to_run(parser.tables(), NAME, run_id, parser.stats)
