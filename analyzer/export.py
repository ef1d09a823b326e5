"""Write a run as TensorBoard scalars: ``python -m analyzer export RUN --tensorboard DIR``.

Any run the analyzer reads (our events.jsonl, any stdout format, the scalar formats) becomes
one event file in DIR, so that a nanoGPT stdout log can be opened in TensorBoard. The tags
are the names the TensorBoard reader maps back (``analyzer.parsers._scalars``), so that an
exported run reads back as the same series:

    iter: train/loss, train/lr, train/grad_norm, train/dt_ms, train/step_ms,
          train/tokens_per_s, train/mfu
    eval: eval/loss (val_loss), eval/train_loss
    metric: its own name (hellaswag, val_bpb, ...)

Values are TensorBoard's ``simple_value`` (float32, as every TensorBoard writer stores
scalars); wall times are the events' times (for a stdout log without a clock: seconds since
its start). The writer is the ``tensorboard`` package's own event-file writer, the package
that reading needs too (``pip install 'gptscope[tensorboard]'``); no torch is needed.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

ITER_TAGS = {"loss": "train/loss", "lr": "train/lr", "grad_norm": "train/grad_norm",
             "dt_ms": "train/dt_ms", "step_ms": "train/step_ms",
             "tokens_per_s": "train/tokens_per_s", "mfu": "train/mfu"}
EVAL_TAGS = {"val_loss": "eval/loss", "train_loss": "eval/train_loss"}
EXTRA_HINT = ("writing TensorBoard files needs the 'tensorboard' package: "
              "pip install 'gptscope[tensorboard]'")


def event_scalars(event: dict[str, Any]) -> list[tuple[str, float]]:
    """The (tag, value) scalars of one schema event (iter, eval, metric; none for others).
    A null value (not measured, or not finite) is left out."""
    etype = event.get("type")
    if etype == "iter":
        pairs = [(tag, event.get(k)) for k, tag in ITER_TAGS.items()]
    elif etype == "eval":
        pairs = [(tag, event.get(k)) for k, tag in EVAL_TAGS.items()]
    elif etype == "metric" and isinstance(event.get("name"), str):
        pairs = [(event["name"], event.get("value"))]
    else:
        return []
    return [(tag, float(v)) for tag, v in pairs
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


class EventWriter:
    """One TensorBoard event file: ``add(step, wall_time, [(tag, value), ...])``."""

    def __init__(self, logdir: str | os.PathLike, suffix: str = ".gptscope"):
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            raise ImportError(EXTRA_HINT) from None
        self._event, self._summary = event_pb2.Event, summary_pb2.Summary
        # a queue as long as a big run's steps: the writer's thread never makes us wait
        self._writer = EventFileWriter(str(logdir), max_queue_size=1024, flush_secs=10,
                                       filename_suffix=suffix)
        self.points = 0

    @property
    def path(self) -> str:
        return self._writer._file_name  # noqa: SLF001 - the writer names its file itself

    def add(self, step: int, wall_time: float, scalars: Iterable[tuple[str, float]]) -> None:
        values = [self._summary.Value(tag=tag, simple_value=v) for tag, v in scalars]
        if values:
            self._writer.add_event(self._event(step=step, wall_time=wall_time,
                                               summary=self._summary(value=values)))
            self.points += len(values)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


@dataclass
class ExportResult:
    path: str     # the event file written
    points: int   # scalar values written
    steps: int    # distinct (step, time) records


Key = tuple[int, int, float]  # (segment, step, time)


def _rows(frame: Any, tags: dict[str, str]) -> dict[Key, list[tuple[str, float]]]:
    """Scalars by (segment, step, time) from one of a Run's wide frames; rows without a
    step are left out (TensorBoard needs one)."""
    import numpy as np
    out: dict[Key, list[tuple[str, float]]] = {}
    if not len(frame):
        return out
    ok = frame["step"].notna().to_numpy()
    segs = frame["segment"].to_numpy()
    steps = frame["step"].to_numpy(dtype=np.float64, na_value=np.nan)
    times = frame["time"].to_numpy(dtype=np.float64, na_value=np.nan)
    for col, tag in tags.items():
        vals = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
        for i in np.flatnonzero(ok & np.isfinite(vals)):
            key = (int(segs[i]), int(steps[i]), float(times[i]))
            out.setdefault(key, []).append((tag, float(vals[i])))
    return out


def export_tensorboard(run: Any, logdir: str | os.PathLike) -> ExportResult:
    """Write ``run`` (an analyzer Run) into ``logdir`` as one TensorBoard event file."""
    Path(logdir).mkdir(parents=True, exist_ok=True)
    rows = _rows(run.iters, ITER_TAGS)
    for key, pairs in _rows(run.evals, EVAL_TAGS).items():
        rows.setdefault(key, []).extend(pairs)
    m = run.metrics
    for i in range(len(m)):
        step, value = m["step"].iat[i], m["value"].iat[i]
        if step is not None and step == step and value == value and math.isfinite(value):
            key = (int(m["segment"].iat[i]), int(step), float(m["time"].iat[i]))
            rows.setdefault(key, []).append((str(m["name"].iat[i]), float(value)))
    writer = EventWriter(logdir)
    try:
        # in step order within a segment: TensorBoard drops every tag's points at and after
        # a step that goes back (it takes it for a restart); a resumed run's does, as it did
        for (_, step, wall), pairs in sorted(rows.items(), key=lambda kv: kv[0]):
            writer.add(step, wall if math.isfinite(wall) else 0.0, pairs)
    finally:
        writer.close()
    return ExportResult(writer.path, writer.points, len(rows))
