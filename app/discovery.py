"""Find the runs under a logs root, and say how each one is doing.

A run is either one of ours (``<run_id>/events.jsonl``, anywhere a few levels below the root)
or a stdout log of another trainer (``*.log`` / ``*.txt``) that the analyzer can parse. The
walk never follows symlinked directories and skips files whose real location is outside the
root, so the list can only ever show readable, allowed files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.paths import display_name, is_inside

EVENTS_FILE = "events.jsonl"
LOG_SUFFIXES = (".log", ".txt", ".out")
SKIP_DIRS = {"__pycache__", "checkpoints", "node_modules"}


@dataclass(frozen=True)
class RunFile:
    """One run found under the logs root."""
    path: Path      # resolved path, inside the root
    name: str       # path relative to the root, as shown and as used in URLs
    kind: str       # 'events' (our JSONL), 'log' (another trainer's stdout) or 'scalars'
                    # (a folder: TensorBoard, HF trainer_state.json, Lightning metrics.csv)
    mtime: float    # last modification, seconds since the epoch
    size: int


@dataclass
class Discovery:
    runs: list[RunFile] = field(default_factory=list)   # newest first
    refused: list[str] = field(default_factory=list)    # names skipped: they point outside


def discover(root: Path, max_depth: int = 3, max_runs: int = 1000) -> Discovery:
    """All runs under ``root``, newest (last written) first."""
    root = root.resolve()
    found = Discovery()
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        depth = len(Path(dirpath).relative_to(root).parts)
        # walk order and pruning: hidden and bulky folders are never runs
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and d not in SKIP_DIRS)
        if depth >= max_depth:
            dirnames[:] = []
        # a folder of ours may also hold the same run's stdout: list the run once
        ours = EVENTS_FILE in filenames
        scalars = None if ours else _scalar_run(Path(dirpath), filenames, root)
        if scalars is not None:  # TensorBoard, HF Trainer, Lightning: the folder is the run
            found.runs.append(scalars)
        for fname in sorted(filenames):
            kind = _kind(fname)
            if kind is None or (ours and kind != "events"):
                continue
            p = Path(dirpath) / fname
            real = p.resolve()
            if not is_inside(real, root):
                found.refused.append(display_name(p, root))
                continue
            try:
                st = real.stat()
            except OSError:  # vanished between listing and stat
                continue
            found.runs.append(RunFile(real, display_name(p, root), kind, st.st_mtime,
                                      st.st_size))
    found.runs.sort(key=lambda r: (-r.mtime, r.name))
    del found.runs[max_runs:]
    return found


SCALAR_FILES = ("trainer_state.json", "metrics.csv")  # HF Trainer, Lightning CSVLogger


def _scalar_run(folder: Path, filenames: list[str], root: Path) -> RunFile | None:
    """A folder that the analyzer reads as one run (analyzer.reread): TensorBoard event
    files, a trainer_state.json or a metrics.csv; None for any other folder."""
    files = [f for f in filenames if "tfevents" in f or f in SCALAR_FILES]
    real = folder.resolve()
    if not files or not is_inside(real, root):
        return None
    stats = []
    for f in files:
        try:
            stats.append((real / f).stat())
        except OSError:
            continue
    if not stats:
        return None
    return RunFile(real, display_name(folder, root), "scalars",
                   max(st.st_mtime for st in stats), sum(st.st_size for st in stats))


def _kind(fname: str) -> str | None:
    if fname == EVENTS_FILE:
        return "events"
    if fname.startswith("."):
        return None
    if fname.endswith(LOG_SUFFIXES):
        return "log"
    return None
