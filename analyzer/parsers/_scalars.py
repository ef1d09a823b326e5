"""Named scalar series (TensorBoard tags, Hugging Face log keys, Lightning CSV columns) as a Run.

The three "scalar" formats share one mapping from a series' name to our metrics, so that a
tag means the same thing whichever library wrote it:

- ``iter`` columns: ``loss``, ``lr``, ``grad_norm``, ``tokens_per_s``, ``mfu``, ``dt_ms``,
  ``step_ms``
- ``eval`` columns: ``val_loss``, and ``train_loss`` (metric name ``eval_train_loss``)
- anything else stays a named ``metric`` (charted by name in the dashboard)

Names are compared in lower case. When several series claim the same metric (Lightning's
``train_loss_step`` beside ``train_loss``; Hugging Face's run-average ``train_loss`` beside
its per-log ``loss``), the one earliest in ``NAMES`` wins and the others stay metrics. A
user's ``--map TAG=METRIC`` comes first of all; ``--map TAG=metric`` keeps a tag a metric.

Time: where the series carry wall times (TensorBoard), an iteration's ``time`` is the
earliest wall time logged at its step, and ``dt_ms`` is the mean time per step since the
previous logged iteration (``eval_inclusive`` when an eval was logged in that interval).
A step logged twice keeps its last value; a step that goes backwards (a resumed run writing
over what it had logged after its checkpoint) drops the points it replaces, as TensorBoard
itself does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from analyzer.run import (EVAL_COLUMNS, ITER_COLUMNS,
                          METRIC_COLUMNS, ParseStats, Run, rows_frame)
from gptscope.schema import make_event

ITER_TARGETS = ("loss", "lr", "grad_norm", "tokens_per_s", "mfu", "dt_ms", "step_ms")
EVAL_TARGETS = ("val_loss", "eval_train_loss")  # the latter: the eval table's train_loss
_EVAL_COLUMN = {"val_loss": "val_loss", "eval_train_loss": "train_loss"}
TARGETS = ITER_TARGETS + EVAL_TARGETS + ("metric",)

# Common names, most specific first within a metric (see the module docstring).
NAMES: tuple[tuple[str, str], ...] = (
    ("train/loss", "loss"), ("loss", "loss"), ("train_loss_step", "loss"),
    ("train/loss_step", "loss"), ("loss/train", "loss"), ("train_loss", "loss"),
    ("training_loss", "loss"), ("training/loss", "loss"),
    ("eval/loss", "val_loss"), ("eval_loss", "val_loss"), ("val/loss", "val_loss"),
    ("val_loss", "val_loss"), ("loss/val", "val_loss"), ("validation/loss", "val_loss"),
    ("validation_loss", "val_loss"), ("valid/loss", "val_loss"), ("valid_loss", "val_loss"),
    ("val_loss_epoch", "val_loss"), ("validation/epoch_loss", "val_loss"),
    ("train/learning_rate", "lr"), ("learning_rate", "lr"), ("train/lr", "lr"), ("lr", "lr"),
    ("train/grad_norm", "grad_norm"), ("grad_norm", "grad_norm"), ("gradient_norm", "grad_norm"),
    ("train/mfu", "mfu"), ("mfu", "mfu"),
    ("train/tokens_per_sec", "tokens_per_s"), ("tokens_per_sec", "tokens_per_s"),
    ("tokens_per_s", "tokens_per_s"), ("train/tokens_per_s", "tokens_per_s"),
    ("throughput/tokens_per_sec", "tokens_per_s"), ("tok/sec", "tokens_per_s"),
    ("train/dt_ms", "dt_ms"), ("dt_ms", "dt_ms"), ("train/step_ms", "step_ms"),
    ("step_ms", "step_ms"), ("train/step_time_ms", "step_ms"), ("step_time_ms", "step_ms"),
    ("tokens_per_second", "tokens_per_s"), ("train/tokens_per_second", "tokens_per_s"),
    ("eval/train_loss", "eval_train_loss"),
)
_RANK = {name: i for i, (name, _) in enumerate(NAMES)}
_TARGET = dict(NAMES)


def parse_map(items: Iterable[str]) -> dict[str, str]:
    """``['TAG=METRIC', ...]`` (the CLI's ``--map``) as a dict; ValueError names a bad item."""
    out: dict[str, str] = {}
    for item in items:
        tag, sep, metric = item.rpartition("=")
        if not sep or not tag:
            raise ValueError(f"--map {item!r}: expected TAG=METRIC")
        if metric not in TARGETS:
            raise ValueError(f"--map {item!r}: METRIC must be one of {', '.join(TARGETS)}")
        out[tag] = metric
    return out


def default_target(name: str) -> tuple[str, int]:
    """(metric, rank) for a name by the common-names table; Lightning's learning-rate
    monitor logs ``lr-<optimizer>`` (``lr-AdamW``), which counts as ``lr`` too."""
    key = name.lower()
    if key in _TARGET:
        return _TARGET[key], _RANK[key]
    if key.startswith("lr-") and "/" not in key:
        return "lr", len(NAMES)
    return "metric", 0


def assign(names: Iterable[str], tag_map: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which metric each series becomes (see the module docstring)."""
    tag_map = tag_map or {}
    best: dict[str, tuple[int, str]] = {}
    out: dict[str, str] = {}
    for name in names:
        if name in tag_map:
            target, rank = tag_map[name], -1
        else:
            target, rank = default_target(name)
        out[name] = "metric"
        if target != "metric" and (target not in best or rank < best[target][0]):
            best[target] = (rank, name)
    for target, (_, name) in best.items():
        out[name] = target
    return out


@dataclass
class Series:
    """One named series: steps with values and (optionally) wall times, in writing order."""
    steps: np.ndarray                   # int64
    values: np.ndarray                  # float64
    times: np.ndarray | None = None     # float64 seconds since the epoch; None: not known

    def clean(self) -> "Series":
        """Sorted by step, one point per step (the last one written), restarts purged."""
        steps, values = np.asarray(self.steps, np.int64), np.asarray(self.values, np.float64)
        times = None if self.times is None else np.asarray(self.times, np.float64)
        if len(steps) > 1 and (np.diff(steps) < 0).any():
            keep = _purged(steps)
            steps, values = steps[keep], values[keep]
            times = None if times is None else times[keep]
        # last point of each step: unique over the reversed arrays picks the last writing
        rev = steps[::-1]
        uniq, first = np.unique(rev, return_index=True)
        if len(uniq) == len(steps):
            return Series(steps, values, times)
        idx = len(steps) - 1 - first
        return Series(uniq, values[idx], None if times is None else times[idx])


def _purged(steps: np.ndarray) -> np.ndarray:
    """Indices kept when every step that goes backwards drops the points logged at that
    step or later before it (a restart from a checkpoint)."""
    keep: list[int] = []
    for i, s in enumerate(steps.tolist()):
        while keep and steps[keep[-1]] >= s:
            keep.pop()
        keep.append(i)
    return np.asarray(keep, np.int64)


@dataclass
class Tables:
    """The columns of a Run's tables, before they become DataFrames or events."""
    iters: dict[str, np.ndarray] = field(default_factory=dict)
    evals: dict[str, np.ndarray] = field(default_factory=dict)
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)


def _align(series: list[Series]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """The union of the series' steps, each series' row positions in it, and the earliest
    wall time at each step (NaN where no series has one)."""
    steps = np.unique(np.concatenate([s.steps for s in series])) if series else \
        np.empty(0, np.int64)
    pos = [np.searchsorted(steps, s.steps) for s in series]
    times = np.full(len(steps), np.nan)
    for s, p in zip(series, pos):
        if s.times is not None:
            col = np.full(len(steps), np.nan)
            col[p] = s.times
            times = np.fmin(times, col)
    return steps, pos, times


def tables(series: Mapping[str, Series], tag_map: Mapping[str, str] | None = None) -> Tables:
    """Map named series to iteration, eval and metric columns (see the module docstring)."""
    mapping = assign(series, tag_map)
    clean = {name: s.clean() for name, s in series.items()}
    out = Tables(mapping=mapping)
    iter_names = [n for n in clean if mapping[n] in ITER_TARGETS]
    steps, pos, times = _align([clean[n] for n in iter_names])
    out.iters = {"step": steps, "time": times}
    loss_logged = np.zeros(len(steps), bool)
    for name, p in zip(iter_names, pos):
        col = np.full(len(steps), np.nan)
        col[p] = clean[name].values
        out.iters[mapping[name]] = col
        if mapping[name] == "loss":
            loss_logged[p] = True
    eval_names = [n for n in clean if mapping[n] in EVAL_TARGETS]
    esteps, epos, etimes = _align([clean[n] for n in eval_names])
    out.evals = {"step": esteps, "time": etimes}
    for name, p in zip(eval_names, epos):
        col = np.full(len(esteps), np.nan)
        col[p] = clean[name].values
        out.evals[_EVAL_COLUMN[mapping[name]]] = col
    if "dt_ms" not in out.iters:
        out.iters["dt_ms"], out.iters["eval_inclusive"] = _dt_ms(steps, times, etimes)
    names = [n for n in clean if mapping[n] == "metric"]
    metrics = {
        "step": np.concatenate([clean[n].steps for n in names]) if names else np.empty(0, int),
        "time": np.concatenate([clean[n].times if clean[n].times is not None else
                                np.full(len(clean[n].steps), np.nan) for n in names])
        if names else np.empty(0),
        "name": np.concatenate([np.full(len(clean[n].steps), n, dtype=object) for n in names])
        if names else np.empty(0, object),
        "value": np.concatenate([clean[n].values for n in names]) if names else np.empty(0)}
    order = np.argsort(metrics["step"], kind="stable")  # by step, then in tag order
    out.metrics = {k: v[order] for k, v in metrics.items()}
    out.anomalies = _anomalies(out.iters, loss_logged)
    # a log without a clock says time 0, as the stdout parsers do (the schema needs a number)
    for cols in (out.iters, out.evals, out.metrics):
        cols["time"] = np.nan_to_num(cols["time"], nan=0.0)
    return out


def _dt_ms(steps: np.ndarray, times: np.ndarray,
           eval_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean milliseconds per step since the previous logged iteration, and whether an eval
    was logged within that interval (its time is then part of it)."""
    dt = np.full(len(steps), np.nan)
    inclusive = np.zeros(len(steps), bool)
    if len(steps) > 1:
        gap = np.diff(steps).astype(np.float64)
        dt[1:] = np.diff(times) * 1000.0 / gap
        ev = np.sort(eval_times[~np.isnan(eval_times)])
        if len(ev):
            # evals with prev < time <= this: counts of evals up to each time differ
            upto = np.searchsorted(ev, np.nan_to_num(times, nan=-np.inf), side="right")
            inclusive[1:] = np.diff(upto) > 0
    return dt, inclusive


def _anomalies(iters: dict[str, np.ndarray], logged: np.ndarray) -> list[dict[str, Any]]:
    """A non-finite loss gets an anomaly row, as the stdout parsers give (these libraries
    log the value and carry on). ``logged``: where the loss series has a point (elsewhere
    NaN only means "not logged at this step")."""
    loss = iters.get("loss")
    if loss is None:
        return []
    bad = np.flatnonzero(logged & ~np.isfinite(loss))
    return [{"step": int(iters["step"][i]), "time": float(iters["time"][i]),
             "kind": "nonfinite_loss", "value": _name(float(loss[i])), "action": "continue"}
            for i in bad]


def _name(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


# -- as a Run, or as events ---------------------------------------------------------------

def run_start(t: Tables, fmt: str, run_id: str, config: dict[str, Any] | None = None,
              max_iters: int | None = None) -> dict[str, Any]:
    """The run_start event these formats give: what they say of the run is little."""
    first = t.iters if len(t.iters["step"]) else t.evals
    step = int(first["step"][0]) if len(first["step"]) else None
    time = float(first["time"][0]) if len(first["time"]) else math.nan
    return make_event("run_start", run_id, step, time if math.isfinite(time) else 0.0,
                      config=config or {}, model={}, max_iters=max_iters, source=fmt,
                      peak_flops_source="unknown")


def _columns(cols: dict[str, np.ndarray], columns: list[str], n: int) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for c in columns:
        if c == "segment":
            data[c] = np.zeros(n, np.int64)
        elif c == "step":
            data[c] = pd.array(np.asarray(cols["step"], np.int64), dtype="Int64")
        elif c == "eval_inclusive":
            data[c] = np.asarray(cols.get(c, np.zeros(n, bool)), bool)
        elif c == "name":
            data[c] = np.asarray(cols[c], object)
        else:
            data[c] = np.asarray(cols[c], np.float64) if c in cols else np.full(n, np.nan)
    return pd.DataFrame(data, columns=columns)


def to_run(t: Tables, fmt: str, run_id: str, stats: ParseStats | None = None,
           start: dict[str, Any] | None = None) -> Run:
    """The Run of these tables: the same as ``Run.from_events(to_events(...))``, built
    straight from the columns (a million points would be a million dicts otherwise)."""
    start = start or run_start(t, fmt, run_id)
    anomalies = rows_frame([{**a, "segment": 0} for a in t.anomalies], "anomaly")
    return Run(iters=_columns(t.iters, ITER_COLUMNS, len(t.iters["step"])),
               evals=_columns(t.evals, EVAL_COLUMNS, len(t.evals["step"])),
               metrics=_columns(t.metrics, METRIC_COLUMNS, len(t.metrics["step"])),
               checkpoints=rows_frame([], "checkpoint"),
               anomalies=anomalies,
               meta={k: v for k, v in start.items() if k not in ("type", "v")},
               format=fmt, stats=stats or ParseStats(),
               segments=[{"segment": 0, "kind": "run_start", "step": start["step"],
                          "time": start["time"]}])


def _fields(cols: dict[str, np.ndarray], names: Iterable[str], i: int) -> dict[str, Any]:
    return {k: float(cols[k][i]) for k in names if k in cols}


def to_events(t: Tables, fmt: str, run_id: str,
              start: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The tables as schema events in step order (for ``parse`` and for followers)."""
    keyed: list[tuple[int, int, dict[str, Any]]] = []
    it, ev, me = t.iters, t.evals, t.metrics

    # Scalar logs (an exported run among them) rarely carry the eval-inclusive flag.
    incl = it.get("eval_inclusive")
    for i in range(len(it["step"])):
        f = _fields(it, ITER_TARGETS, i)
        keyed.append((int(it["step"][i]), 0, make_event(
            "iter", run_id, int(it["step"][i]), float(it["time"][i]),
            eval_inclusive=bool(incl[i]) if incl is not None else False, **f)))
    for a in t.anomalies:
        keyed.append((a["step"], 1, make_event("anomaly", run_id, a["step"], a["time"],
                                               kind=a["kind"], value=a["value"],
                                               action=a["action"])))
    for i in range(len(ev["step"])):
        keyed.append((int(ev["step"][i]), 2, make_event(
            "eval", run_id, int(ev["step"][i]), float(ev["time"][i]),
            **_fields(ev, _EVAL_COLUMN.values(), i))))
    for i in range(len(me["step"])):
        keyed.append((int(me["step"][i]), 3, make_event(
            "metric", run_id, int(me["step"][i]), float(me["time"][i]), name=str(me["name"][i]),
            value=float(me["value"][i]))))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [start or run_start(t, fmt, run_id)] + [e for _, _, e in keyed]
