"""Checkpoints and small run files, written atomically: a reader (or a resume after a crash)
sees either the previous complete file or the new complete file, never a torn one."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

CKPT_NAME = "ckpt.pt"


class CheckpointError(OSError):
    """A checkpoint could not be written or read; the message names the file."""

    def __str__(self) -> str:  # the message alone, without OSError's '[Errno 28] '
        return self.strerror or super().__str__()


def _fsync_dir(path: Path) -> None:
    # the rename itself must reach the disk too, or a crash can forget the new name
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Any) -> None:
    """write(file) into path.tmp, fsync, then os.replace over path. On any error the
    temporary file is removed and the old path is left as it was."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        cause = _os_error(e)
        if cause is not None:
            raise CheckpointError(cause.errno, f"cannot write {path}: "
                                               f"{cause.strerror or cause}") from e
        raise
    _fsync_dir(path.parent)


def _os_error(e: BaseException) -> OSError | None:
    """The OSError behind a failed write. torch.save reports a write that failed (a full
    disk) as a RuntimeError of its zip writer, raised while handling the OSError."""
    seen: set[int] = set()
    while isinstance(e, Exception) and id(e) not in seen:
        if isinstance(e, OSError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def save(state: dict[str, Any], path: str | Path) -> None:
    """torch.save a checkpoint atomically. The state must hold only tensors and plain Python
    values (dicts, lists, str, numbers, None) so that it loads with weights_only=True."""
    _atomic_write(Path(path), lambda f: torch.save(state, f))


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint without unpickling arbitrary objects (weights_only=True): a file from
    an unknown source cannot run code."""
    try:
        if os.path.getsize(path) == 0:  # torch would raise a bare EOFError
            raise CheckpointError(0, f"{path}: not a loadable checkpoint (the file is empty: "
                                     f"0 bytes)")
        return torch.load(path, map_location=map_location, weights_only=True)
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(2, f"{path}: no such checkpoint") from None
    except OSError as e:
        raise CheckpointError(e.errno, f"{path}: cannot read checkpoint ({e.strerror})") from e
    except Exception as e:  # torch raises UnpicklingError/RuntimeError/... for bad files
        raise CheckpointError(0, f"{path}: not a loadable checkpoint ({_reason(e)})") from e


def _reason(e: Exception) -> str:
    """One line on why torch could not read the file. torch's weights_only refusal advises
    loading with weights_only=False, which would let the file run code: never repeated."""
    text = str(e)
    if "weights_only" in text or "Weights only" in text:
        return ("it holds Python objects other than tensors and plain values, which gptscope "
                "never unpickles because they can run code")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(e).__name__}: {first[:200]}" if first else type(e).__name__


def write_json(obj: Any, path: str | Path) -> None:
    data = (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    _atomic_write(Path(path), lambda f: f.write(data))
