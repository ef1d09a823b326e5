"""Metrics that other trainers write as JSON lines, one object per logging step::

    {"current_steps": 10, "total_steps": 6750, "loss": 2.219, "lr": 1.3e-06, "epoch": 0.004,
     "percentage": 0.15, "elapsed_time": "0:00:32", "remaining_time": "6:01:13"}
    {"current_steps": 500, "total_steps": 6750, "eval_loss": 1.641, ...}
                                        (LLaMA-Factory's trainer_log.jsonl)
    {"iter": 100, "train/loss": 4.989, "val/loss": 5.428, "lr": 0.00012}   (a script's log.jsonl)
    {"step": 20, "loss": 8.56, "lr": 2.9e-05, "tokens": 10485760}         (a metrics.jsonl)

Our own events (objects with a ``type``) are the ``gptscope`` format's, never read here.

Meaning and conventions:

- the step is the first of ``STEP_KEYS`` the object has (an integer); an object without one
  is skipped and counted.
- values are named as in TensorBoard, Hugging Face and Lightning logs (analyzer/parsers/
  _scalars.py: ``loss``, ``train/loss``, ``eval_loss``, ``val/loss``, ``lr``, ``grad_norm``,
  ...); a train loss makes an iteration, a val loss an eval at the same step; a null value is
  not logged.
- time: a cumulative clock (``CLOCK_KEYS``: LLaMA-Factory's ``elapsed_time`` as "0:01:03" or
  "9 days, 21:49:18", or seconds) is the event's time, and its difference over the steps
  since the previous iteration that iteration's ``dt_ms``, eval-inclusive when an eval was
  logged in between (the clock runs on through evals). A timestamp (``wall_time`` as seconds
  since 1970) counts from the first one.
- a record with no loss at ``total_steps`` (LLaMA-Factory's last) says training completed.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from analyzer.parsers import _scalars
from analyzer.parsers._stdout import StdoutParser
from analyzer.run import as_step

NAME = "metrics_jsonl"

STEP_KEYS = ("current_steps", "global_step", "step", "iter", "iteration", "num_updates",
             "trainer/global_step", "train/global_step", "it")
CLOCK_KEYS = ("elapsed_time", "elapsed_sec", "elapsed_s", "elapsed", "time_elapsed",
              "elapsed_seconds", "wallclock", "wall_seconds", "wall_time")
_EPOCH = 1e8  # a clock above this many seconds (3 years) is a timestamp: counted from its first
_DAYS = re.compile(r"(?:(\d+) days?, )?(\d+):(\d\d):(\d\d(?:\.\d+)?)$")
_LOSSES = frozenset({"loss", "val_loss"})


def detect(head: list[str]) -> float:
    """Confidence that these first lines are JSON lines of a trainer's metrics."""
    hits = 0
    for line in head:
        obj = _object(line)
        if obj is None or "type" in obj or _step(obj) is None:
            continue
        if _LOSSES & set(_scalars.assign(obj).values()):
            hits += 1
            if hits >= 2:
                return 0.9
    return 0.3 if hits else 0.0


def _object(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _step(obj: dict[str, Any]) -> int | None:
    for key in STEP_KEYS:
        value = obj.get(key)
        step = None if isinstance(value, bool) else as_step(value)
        if step is not None and step >= 0:
            return step
    return None


def _seconds(value: Any) -> float | None:
    """A clock's value in seconds: a number, or 'H:MM:SS' with perhaps 'N days, ' before."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    m = _DAYS.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        return None
    days, h, mnt, sec = m.groups()
    return ((int(days or 0) * 24 + int(h)) * 60 + int(mnt)) * 60 + float(sec)


class Parser(StdoutParser):
    NAME = NAME
    EVAL_IN_DT = True  # (the clock runs on through evals: see the module docstring)

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._clock_at: tuple[int, float] | None = None  # the last iteration's step and clock
        self._eval_since = False  # an eval logged since the last iteration
        self._epoch0: float | None = None  # the first timestamp, when the clock is one

    def on_segment(self) -> None:
        self._clock_at, self._eval_since = None, False

    def parse_line(self, text: str, lineno: int) -> bool:
        obj = _object(text)
        if obj is None or "type" in obj:
            return False
        step = _step(obj)
        if step is None:
            return False
        fields: dict[str, float] = {}
        for key, target in _scalars.assign(obj).items():
            value = obj[key]
            if target != "metric" and isinstance(value, (int, float)) \
                    and not isinstance(value, bool):
                fields[target] = float(value)
        clock = next((s for k in CLOCK_KEYS if (s := _seconds(obj.get(k))) is not None), None)
        if clock is not None and clock > _EPOCH:
            self._epoch0 = clock if self._epoch0 is None else self._epoch0
            clock -= self._epoch0
        if "val_loss" in fields:
            self.evaluation(step, val_loss=fields["val_loss"])
            self._eval_since = True
        if "loss" in fields:
            self._iteration(step, fields, clock)
        elif "val_loss" not in fields and obj.get("total_steps") == step and step > 0:
            # LLaMA-Factory's closing record: training reached its last step
            self._end("completed", None, max(step, self.last_iter_step or 0))
        return True

    def _iteration(self, step: int, fields: dict[str, float], clock: float | None) -> None:
        dt_ms = fields.get("dt_ms")
        before = self._clock_at
        if dt_ms is None and clock is not None and before is not None and step > before[0]:
            dt_ms = 1000.0 * (clock - before[1]) / (step - before[0])
            if self._eval_since:
                self._eval_step = step  # its interval ran the eval (StdoutParser.iteration)
        self._eval_since = False
        self.iteration(step, loss=fields["loss"], lr=fields.get("lr"),
                       grad_norm=fields.get("grad_norm"), dt_ms=dt_ms,
                       step_ms=fields.get("step_ms"), tokens_per_s=fields.get("tokens_per_s"),
                       mfu=fields.get("mfu"), clock_s=clock)
        if clock is not None:  # (after: a new segment forgets the one before)
            self._clock_at = (step, clock)
