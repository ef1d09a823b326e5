"""Files the analyzer writes (`parse -o`, `golden -o`, `report -o`, ...): never over its input
or a run's own files, and never half-written.

Every verb that writes goes through ``open_output`` (text or bytes) or ``output_path`` (for
writers that want a path, such as matplotlib). Both first call ``check_output``, which refuses

* a path that is, or resolves to (symlinks, hard links), one of the command's inputs: writing
  a file while it is read (the parser maps it into memory) truncates it and kills the reader
  with SIGBUS, and the log is lost;
* an existing events.jsonl, checkpoint or config.json: a run's own record, which no analysis
  output should replace.

They then write to a temporary file in the same directory and ``os.replace`` it over the
target only once it is complete, so an interrupted or failed write leaves the old file (or
none), never a truncated one. A path through a symlink writes the file the link points to.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator

# A run directory's own files (trainer/: events sink, checkpoint, resolved config).
RUN_FILES = frozenset({"events.jsonl", "ckpt.pt", "config.json"})


class OutputError(ValueError):
    """An output path that would destroy data; the message is one line naming it."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:  # b (or a) does not exist: it cannot be the same file
        return False


def check_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """The file to write for ``path`` (symlinks resolved); OutputError when that file is
    one of ``inputs`` or an existing run file (events.jsonl, ckpt.pt, config.json)."""
    given = Path(path)
    target = given.resolve()
    for source in inputs:
        src = Path(source)
        if src.is_dir() and (src / "events.jsonl").exists():
            src = src / "events.jsonl"  # a run directory is read through its events
        if _same_file(given, src):
            raise OutputError(f"{given}: refusing to write over the input "
                              f"{src}; choose another output file")
    if target.exists() and (target.name in RUN_FILES or given.name in RUN_FILES):
        raise OutputError(f"{given}: refusing to overwrite a run's {target.name}; "
                          "choose another output file")
    if target.is_dir():
        raise OutputError(f"{given}: is a directory; give a file name")
    return target


def _new_file_mode(target: Path) -> int:
    """Mode for the new file: the old file's, else what open() would give (umask applied);
    mkstemp's 0600 would make a report unreadable to the group."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def output_path(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()
                ) -> Iterator[Path]:
    """A temporary path (same directory and extension as ``path``) to write; it replaces
    ``path`` when the block ends without an exception, and is removed otherwise."""
    target = check_output(path, inputs)
    # the extension stays last: matplotlib picks the image format from it
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{target.suffix}",
                               dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _new_file_mode(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def open_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (),
                mode: str = "w") -> Iterator[IO]:
    """``open(path, mode)`` made safe: see ``output_path``. mode: "w" (UTF-8 text) or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with output_path(path, inputs) as tmp:
        with open(tmp, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the rename makes it visible
