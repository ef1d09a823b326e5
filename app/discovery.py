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
    """All runs under ``root``, newest (last written) first.

    One ``scandir`` per folder: a file's type and symlink bit come with the listing, so only
    symlinks are resolved (a ``realpath`` per file cost ~0.5 s on a root of 1,000 runs). A
    folder reached without following a symlink from the resolved root is inside it.
    """
    root = root.resolve()
    found = Discovery()
    if root.is_dir():
        _walk(root, root, 0, max_depth, found)
    found.runs.sort(key=lambda r: (-r.mtime, r.name))
    del found.runs[max_runs:]
    return found


def _walk(folder: Path, root: Path, depth: int, max_depth: int, found: Discovery) -> None:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:  # vanished or unreadable: not a run
        return
    files = [e for e in entries if not _is_dir(e)]
    names = [e.name for e in files]
    # a folder of ours may also hold the same run's stdout: list the run once
    ours = EVENTS_FILE in names
    scalars = None if ours else _scalar_run(folder, names, root)
    if scalars is not None:  # TensorBoard, HF Trainer, Lightning: the folder is the run
        found.runs.append(scalars)
    for e in files:
        kind = _kind(e.name)
        if kind is None or (ours and kind != "events"):
            continue
        run = _run_file(Path(e.path), e, kind, root, found)
        if run is not None:
            found.runs.append(run)
    if depth >= max_depth:
        return
    for e in entries:
        # never into symlinked folders (they could point anywhere), hidden or bulky ones
        if _is_dir(e) and not e.is_symlink() and not e.name.startswith(".") \
                and e.name not in SKIP_DIRS:
            _walk(Path(e.path), root, depth + 1, max_depth, found)


def _is_dir(e: os.DirEntry) -> bool:
    try:
        return e.is_dir(follow_symlinks=False) or (e.is_symlink() and e.is_dir())
    except OSError:
        return False


def _run_file(p: Path, e: os.DirEntry, kind: str, root: Path, found: Discovery
              ) -> RunFile | None:
    real = p
    if e.is_symlink():  # only a symlink can lead outside the root
        real = p.resolve()
        if not is_inside(real, root):
            found.refused.append(display_name(p, root))
            return None
    try:
        st = real.stat() if real is not p else e.stat()
    except OSError:  # vanished between listing and stat
        return None
    return RunFile(real, display_name(p, root), kind, st.st_mtime, st.st_size)


SCALAR_FILES = ("trainer_state.json", "metrics.csv")  # HF Trainer, Lightning CSVLogger


def _scalar_run(folder: Path, filenames: list[str], root: Path) -> RunFile | None:
    """A folder that the analyzer reads as one run (analyzer.reread): TensorBoard event
    files, a trainer_state.json or a metrics.csv; None for any other folder."""
    files = [f for f in filenames if "tfevents" in f or f in SCALAR_FILES]
    if not files:
        return None
    real = folder.resolve()
    if not is_inside(real, root):
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
