"""Find the runs under a logs root, and say how each one is doing.

A run is either one of ours (``<run_id>/events.jsonl``, anywhere a few levels below the root)
or a stdout log of another trainer (``*.log`` / ``*.txt``) that the analyzer can parse. The
walk never follows symlinked directories and skips files whose real location is outside the
root, so the list can only ever show readable, allowed files.
"""
from __future__ import annotations

import math
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
    kind: str       # 'events' (our JSONL) or 'log' (another trainer's stdout)
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


def _kind(fname: str) -> str | None:
    if fname == EVENTS_FILE:
        return "events"
    if fname.startswith("."):
        return None
    if fname.endswith(LOG_SUFFIXES):
        return "log"
    return None


# ---------------------------------------------------------------------------- status

STALL_MIN_S = 120.0


def stall_after_s(max_dt_ms: float | None, minimum: float = STALL_MIN_S) -> float:
    """How long a run may be silent before it counts as stalled.

    At least ``minimum`` seconds, and at least three times the slowest iteration seen so far
    (dt_ms includes evals and checkpoints, so a run whose evals take minutes is not called
    stalled during its next eval).
    """
    if max_dt_ms is None or not math.isfinite(max_dt_ms):
        return minimum
    return max(minimum, 3.0 * max_dt_ms / 1000.0)


def run_status(end_status: str | None, last_write: float, now: float, silent_after_s: float,
               ours: bool = True, finished: bool = False) -> str:
    """running, completed, failed, interrupted, stalled or ended.

    ``end_status`` is the run_end event's status. Our trainer always writes one when it stops
    (even on an exception), so a gptscope run that is silent for ``silent_after_s`` without
    one has stalled or was killed. Other trainers' logs carry no end marker: when silent they
    are 'ended' (outcome unknown) unless the parser saw them reach max_iters (``finished``).
    """
    if end_status:
        return end_status if end_status in ("completed", "failed", "interrupted") else "ended"
    if finished:
        return "completed"
    if now - last_write <= silent_after_s:
        return "running"
    return "stalled" if ours else "ended"


STATUS_ORDER = {"running": 0, "stalled": 1, "failed": 2, "interrupted": 3, "completed": 4,
                "ended": 5}
