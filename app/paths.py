"""The dashboard only ever reads files inside its logs root.

Everything a user can type or click (a run in the list, a path in "open a log", a query
parameter in a shared URL) goes through ``resolve_inside`` before any file is opened. A path
is refused when it is absolute and outside the root, when it contains ``..``, or when it (or a
directory on the way) is a symlink that points out of the root.
"""
from __future__ import annotations

import os
import re
from pathlib import Path


class PathRefused(ValueError):
    """A path the dashboard will not read; the message says why, in one line."""


def logs_root(arg: str | os.PathLike | None = None) -> Path:
    """The logs root: the --logs argument, else $GPTSCOPE_LOGS, else ./logs."""
    raw = arg if arg else os.environ.get("GPTSCOPE_LOGS") or "logs"
    return Path(raw).expanduser().resolve()


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path`` (already resolved) is ``root`` or below it."""
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def resolve_inside(root: Path, user_path: str | os.PathLike) -> Path:
    """Resolve a user-given path (relative to ``root``, or absolute) to a file inside ``root``.

    Raises PathRefused naming the problem. The file need not exist yet (the caller shows
    "not found" itself), but every symlink on the way is followed and checked.
    """
    text = os.fspath(user_path).strip()
    if not text:
        raise PathRefused("empty path")
    if "\x00" in text:
        raise PathRefused("path contains a NUL byte")
    candidate = Path(text).expanduser()
    if ".." in candidate.parts:
        raise PathRefused(f"{text!r}: '..' is not allowed; give a path inside the logs root")
    root = root.resolve()
    full = candidate if candidate.is_absolute() else root / candidate
    if not is_inside(Path(os.path.abspath(full)), root):
        raise PathRefused(f"{text!r} is outside the logs root {root}")
    resolved = full.resolve()  # follows symlinks, also of missing tails' parents
    if not is_inside(resolved, root):
        raise PathRefused(f"{text!r} is a symlink pointing outside the logs root {root}")
    return resolved


def display_name(path: Path, root: Path) -> str:
    """A run's name as shown and as put in URLs: its path relative to the root."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, default: str = "upload.log") -> str:
    """A plain file name for an uploaded log: no directories, no hidden files, no odd bytes."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip("._")
    return base[:120] or default


UPLOADS = "uploads"


def save_upload(root: Path, filename: str, data: bytes) -> Path:
    """Store an uploaded log under ``<root>/uploads/`` and return its path.

    The name is reduced to a plain file name. An upload of our JSONL becomes
    ``uploads/<name>/events.jsonl`` so it is listed like any run of ours. Uploading the same
    bytes twice reuses the first file; different bytes under a taken name get ``-1``, ``-2``.
    """
    name = safe_filename(filename)
    base = root.resolve() / UPLOADS
    stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
    for i in range(1000):
        tag = f"{stem}-{i}" if i else stem
        if name.endswith(".jsonl"):
            dest = base / tag / "events.jsonl"
        else:
            dest = base / (f"{tag}.{suffix}" if dot else tag)
        if dest.exists():
            if dest.is_file() and dest.read_bytes() == data:
                return dest
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not is_inside(dest.parent.resolve(), root.resolve()):
            raise PathRefused(f"{UPLOADS}/ is a symlink pointing outside the logs root")
        dest.write_bytes(data)
        return dest
    raise PathRefused(f"too many uploads named {name!r}")
