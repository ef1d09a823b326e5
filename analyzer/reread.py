"""Following a run that its format reads whole: a TensorBoard run directory (binary records,
several files), the way ``Follower`` follows a growing text log.

``poll()`` reads the run again when one of its files changed (name, size or modification
time) and reports it as a reset with the run's events, so the dashboard's live registry
treats it like any followed log. Event files are small beside the time between polls: a
whole re-read keeps this simple, where a byte-offset reader would have to cut TFRecords.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from analyzer.follow import LazyEvents, Update
from analyzer.loader import LoadError, load
from analyzer.run import Run


def _files(path: Path) -> tuple:
    """What says that the run changed: its files' names, sizes and times."""
    paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


class Rereader:
    """``Follower``'s interface (``poll()``, ``run``, ``error``, ``format``) for a path that
    is read whole."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.run: Run | None = None
        self.error: str | None = None
        self.format: str | None = None
        self._key: tuple | None = None

    def poll(self) -> Update:
        if not self.path.exists():
            had, self.run, self._key = self.run is not None, None, None
            return Update(reset=had, missing=True, error=self.error)
        key = _files(self.path)
        if key == self._key:
            return Update(error=self.error, format=self.format)
        self._key = key
        try:
            run = load(self.path)
        except LoadError as e:
            self.error = str(e)
            return Update(error=self.error, format=self.format)
        self.run, self.format, self.error = run, run.format, None
        return Update(LazyEvents([("run", run)]), reset=True, format=run.format)


def follower(path: str | os.PathLike) -> Any:
    """The follower for a path: a Rereader for what a format reads whole (TensorBoard event
    files, a directory with trainer_state.json or metrics.csv), else the line-by-line
    Follower."""
    from analyzer import parsers as registry
    from analyzer.follow import Follower
    p = Path(path)
    for mod in registry.path_readers().values():
        claims = getattr(mod, "claims_path", None)
        if claims is not None and claims(p):
            return Rereader(p)
    return Follower(p)
