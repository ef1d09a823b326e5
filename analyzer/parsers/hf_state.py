"""Hugging Face ``Trainer``'s ``trainer_state.json`` (saved with every checkpoint).

::

    {"global_step": 45, "max_steps": 45, "logging_steps": 10, ...,
     "log_history": [{"epoch": 0.67, "grad_norm": 47.8, "learning_rate": 0.00016,
                      "loss": 8.3368, "step": 10}, ...,
                     {"eval_loss": 1.9, "eval_runtime": 3.2, "epoch": 1.0, "step": 15}, ...,
                     {"train_loss": 2.38, "train_runtime": 472.1, "step": 45, ...}]}

Meaning: each ``log_history`` entry is one logging (or eval) step; its keys are mapped like
TensorBoard tags (``analyzer.parsers._scalars``): ``loss``, ``learning_rate`` -> lr,
``grad_norm``, ``eval_loss`` -> val_loss; everything else (``epoch``, ``eval_runtime``, the
run-average ``train_loss``, ``total_flos``...) is a named metric. The file holds no times,
so there is no throughput. A file whose last entry has ``train_runtime`` is a finished run.
A run directory (an output dir or a ``checkpoint-N``) with a ``trainer_state.json`` in it
counts as the run. The file is one JSON document: it is read whole.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from analyzer.parsers import _scalars
from analyzer.run import ParseStats, Run
from gptscope.schema import make_event

NAME = "hf_trainer_state"
MAPS_TAGS = True  # parse_path takes a tag_map (the CLI's --map)
FILE = "trainer_state.json"
_SKIP = frozenset({"step"})


def detect(head: list[str]) -> float:
    """The top of a pretty-printed trainer_state.json (keys are written sorted)."""
    text = "\n".join(head[:40])
    if '"log_history"' in text or ('"global_step"' in text and '"best_metric"' in text):
        return 0.95
    return 0.0


def claims_path(path: str | os.PathLike) -> bool:
    p = Path(path)
    return p.is_dir() and (p / FILE).is_file()


def _state(data: str, stats: ParseStats) -> dict[str, Any] | None:
    try:
        state = json.loads(data)
    except ValueError as e:  # JSONDecodeError, or a number beyond float range
        stats.skip(getattr(e, "lineno", 0), f"not JSON: {e}", "")
        return None
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        stats.skip(1, "no log_history list", "")
        return None
    return state


def series(state: dict[str, Any], stats: ParseStats) -> dict[str, _scalars.Series]:
    """Each key of the log_history entries as a Series over their ``step``."""
    points: dict[str, tuple[list[int], list[float]]] = {}
    for i, entry in enumerate(state["log_history"], 1):
        stats.lines += 1
        step = entry.get("step") if isinstance(entry, dict) else None
        if not isinstance(step, int) or isinstance(step, bool) or not -2**63 <= step < 2**63:
            stats.skip(i, "log_history entry without an integer step", str(entry)[:200])
            continue
        stats.parsed += 1
        for key, value in entry.items():
            if key in _SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            steps, values = points.setdefault(key, ([], []))
            steps.append(step)
            values.append(float(value))
    return {k: _scalars.Series(np.asarray(s, np.int64), np.asarray(v, np.float64))
            for k, (s, v) in points.items()}


def _tables(data: str, run_id: str, tag_map: Mapping[str, str] | None,
            stats: ParseStats) -> tuple[_scalars.Tables, dict[str, Any], dict[str, Any] | None]:
    state = _state(data, stats) or {"log_history": []}
    t = _scalars.tables(series(state, stats), tag_map)
    config = {k: v for k, v in state.items() if k in (
        "logging_steps", "eval_steps", "save_steps", "train_batch_size", "num_train_epochs")
        and isinstance(v, (int, float))}
    max_steps = state.get("max_steps")
    start = _scalars.run_start(t, NAME, run_id, config,
                               max_steps if isinstance(max_steps, int) else None)
    end = None
    history = state["log_history"]
    if history and isinstance(history[-1], dict) and "train_runtime" in history[-1]:
        last = history[-1]
        runtime = last.get("train_runtime")
        end = make_event("run_end", run_id, _step_of(last), start["time"],
                         status="completed", steps=_step_of(last),
                         wall_s=float(runtime) if isinstance(runtime, (int, float)) else None)
    return t, start, end


def _step_of(entry: dict[str, Any]) -> int | None:
    step = entry.get("step")
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _read(path: Path) -> str:
    if path.is_dir():
        path = path / FILE
    return path.read_text(encoding="utf-8", errors="replace")


def parse_path(path: str | os.PathLike, run_id: str = "log",
               tag_map: Mapping[str, str] | None = None) -> Run:
    stats = ParseStats()
    t, start, end = _tables(_read(Path(path)), run_id, tag_map, stats)
    run = _scalars.to_run(t, NAME, run_id, stats, start)
    run.end = end
    return run


class Parser:
    """The streaming interface over a whole document: lines are gathered, and the events
    come out at ``finish()`` (a JSON document is only readable once complete)."""

    def __init__(self, run_id: str = "log", tag_map: Mapping[str, str] | None = None):
        self.run_id, self.tag_map = run_id, tag_map
        self.stats = ParseStats()
        self._lines: list[str] = []

    def feed(self, lines: list[str], first_lineno: int) -> list[dict[str, Any]]:
        self._lines += lines
        return []

    def finish(self) -> list[dict[str, Any]]:
        t, start, end = _tables("\n".join(self._lines), self.run_id, self.tag_map,
                                self.stats)
        events = _scalars.to_events(t, NAME, self.run_id, start)
        return events + ([end] if end else [])
