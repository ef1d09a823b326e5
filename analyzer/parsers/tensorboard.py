"""TensorBoard event files (``events.out.tfevents.*``): a file, or a run directory of them.

What is read: scalar summaries, both the ``simple_value`` that ``torch.utils.tensorboard``,
tensorboardX and TF1 write and the 0-d tensors of TF2's ``tf.summary.scalar``; each tag
becomes a series of (step, value, wall time), mapped to our metrics by its name (see
``analyzer.parsers._scalars``: ``train/loss`` -> loss, ``eval/loss`` -> val_loss, ``lr``...;
other tags stay named metrics). Histograms, images, text and graphs are ignored.

A run directory is the event files directly in it, read in file-name order (the name holds
the creation time, so a resumed run's later file comes after); when there are none, the
files one directory level down (Keras's ``train/`` and ``validation/``), with the
sub-directory prefixed to their tags (``validation/epoch_loss``).

The records are decoded by the ``tensorboard`` package's own event-file loader (an optional
extra: ``pip install 'gptscope[tensorboard]'``); a truncated last record (a run still
writing, or killed) ends that file's reading, as it does in TensorBoard.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from analyzer.parsers import _scalars
from analyzer.run import ParseStats, Run

NAME = "tensorboard"
MAPS_TAGS = True  # parse_path takes a tag_map (the CLI's --map)
MARKER = "tfevents"             # in every event file's name
_FILE_VERSION = b"brain.Event:"  # in the first record of every event file
EXTRA_HINT = ("reading TensorBoard files needs the 'tensorboard' package: "
              "pip install 'gptscope[tensorboard]'")


def detect(head: list[str]) -> float:
    """The first record of an event file names its version (``brain.Event:2``)."""
    return 0.99 if head and _FILE_VERSION.decode() in head[0][:200] else 0.0


def is_event_file(path: Path) -> bool:
    if MARKER in path.name and path.is_file():
        return True
    try:
        with open(path, "rb") as f:
            return _FILE_VERSION in f.read(64)
    except OSError:
        return False


def event_files(path: str | os.PathLike) -> list[tuple[Path, str]]:
    """(file, tag prefix) of the event files a path stands for (see the module docstring):
    empty when it is no TensorBoard run."""
    p = Path(path)
    if p.is_file():
        return [(p, "")] if is_event_file(p) else []
    if not p.is_dir():
        return []
    direct = sorted(f for f in p.iterdir() if MARKER in f.name and f.is_file())
    if direct:
        return [(f, "") for f in direct]
    nested = []
    for sub in sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith(".")):
        nested += [(f, sub.name + "/") for f in sorted(sub.iterdir())
                   if MARKER in f.name and f.is_file()]
    return nested


def claims_path(path: str | os.PathLike) -> bool:
    """A file or directory that this format reads by itself (binary, or several files). A
    run directory of ours (events.jsonl) is read from its events even when our trainer's
    TensorBoard sink wrote an event file beside them."""
    p = Path(path)
    if p.is_dir() and (p / "events.jsonl").is_file():
        return False
    return bool(event_files(p))


def _loader() -> Any:
    try:
        from tensorboard.backend.event_processing import event_file_loader
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:
        raise ImportError(EXTRA_HINT) from None
    return event_file_loader, event_pb2, tensor_util


class _Points:
    """Growing per-tag lists (appending to lists beats numpy per point)."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.values: list[float] = []
        self.times: list[float] = []


def _tensor_value(tensor: Any, tensor_util: Any) -> float | None:
    """The number a scalar tensor holds, or None for anything else (a histogram...)."""
    if tensor.tensor_shape.dim:
        return None
    if len(tensor.float_val) == 1:  # the usual encoding, read without numpy
        return float(tensor.float_val[0])
    if len(tensor.double_val) == 1:
        return float(tensor.double_val[0])
    try:
        arr = tensor_util.make_ndarray(tensor)
    except Exception:  # noqa: BLE001 - a malformed tensor is a skipped value, not a crash
        return None
    return float(arr) if arr.ndim == 0 and arr.dtype.kind in "fiub" else None


def read_file(path: Path, prefix: str, points: dict[str, _Points], stats: ParseStats) -> None:
    """Add one event file's scalar points to ``points``; count what was read and skipped."""
    event_file_loader, event_pb2, tensor_util = _loader()
    loader = event_file_loader.RawEventFileLoader(str(path))
    parse = event_pb2.Event.FromString
    try:
        for n, record in enumerate(loader.Load(), 1):
            stats.lines += 1
            try:
                event = parse(record)
            except Exception:  # noqa: BLE001 - protobuf's DecodeError, or worse
                stats.skip(n, f"{path.name}: record {n} is no Event", "")
                continue
            if not event.HasField("summary"):
                continue
            step, wall = event.step, event.wall_time
            for v in event.summary.value:
                kind = v.WhichOneof("value")
                if kind == "simple_value":
                    x: float | None = v.simple_value
                elif kind == "tensor":
                    x = _tensor_value(v.tensor, tensor_util)
                else:
                    continue
                if x is None:
                    continue
                pts = points.get(prefix + v.tag)
                if pts is None:
                    pts = points[prefix + v.tag] = _Points()
                pts.steps.append(step)
                pts.values.append(x)
                pts.times.append(wall)
                stats.parsed += 1
    except Exception as e:  # noqa: BLE001 - a damaged file: keep what was read before it
        stats.skip(stats.lines + 1, f"{path.name}: unreadable after record {stats.lines} "
                                    f"({type(e).__name__})", "")


def read_series(path: str | os.PathLike,
                stats: ParseStats | None = None) -> dict[str, _scalars.Series]:
    """Every scalar tag of a file or run directory as a Series."""
    stats = stats if stats is not None else ParseStats()
    points: dict[str, _Points] = {}
    for f, prefix in event_files(path):
        read_file(f, prefix, points, stats)
    out = {}
    for tag, p in points.items():
        times = np.asarray(p.times, np.float64)
        times[times == 0.0] = np.nan  # 1970: a writer that had no clock (our export of one)
        out[tag] = _scalars.Series(np.asarray(p.steps, np.int64),
                                   np.asarray(p.values, np.float64), times)
    return out


def parse_path(path: str | os.PathLike, run_id: str = "log",
               tag_map: Mapping[str, str] | None = None) -> Run:
    """A file or a run directory of event files as a Run."""
    stats = ParseStats()
    tables = _scalars.tables(read_series(path, stats), tag_map)
    return _scalars.to_run(tables, NAME, run_id, stats)


def events(path: str | os.PathLike, run_id: str = "log",
           tag_map: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The same run as schema events (for ``python -m analyzer parse``)."""
    return _scalars.to_events(_scalars.tables(read_series(path), tag_map), NAME, run_id)
