"""Test-only fault injection inside a real ``python -m trainer run`` process.

Python imports ``sitecustomize`` at start-up from sys.path. The reliability tests put this
folder on PYTHONPATH and describe the faults in $GPTSCOPE_FAULTS (a JSON object); without
that variable nothing is patched. The trainer itself has no test hooks: the faults replace
the functions it calls (the checkpoint writer, ``open``, the model's forward).

    slow_checkpoint: S       each checkpoint is written in two halves, S seconds apart: a
                             wide window for a SIGKILL to land in the middle of a write
    poison_steps: [i, ...]   the i-th training forward passes return a NaN loss
    nan_weights_at: i        the i-th training forward first turns the embedding weights
                             into NaN (a model gone bad, not just one loss)
    enospc: {"name": N, "after_bytes": B, "skip_opens": K}
                             writes to the (K+1)-th file named N opened for writing fail
                             with ENOSPC once B bytes went through (the part that fits is
                             written first, as a full disk does)
    readonly: DIR            opening a file for writing, mkdir, rename and unlink under DIR
                             fail with EROFS (a read-only mount, for machines where a test
                             runs as root and chmod cannot stop it)
"""
from __future__ import annotations

import builtins
import errno
import io
import json
import os
import time
from pathlib import Path


def _slow_checkpoint(delay: float) -> None:
    import torch

    from trainer import checkpoint as ckpt

    def save(state, path):
        buf = io.BytesIO()
        torch.save(state, buf)
        data = buf.getvalue()

        def write(f):
            half = len(data) // 2
            f.write(data[:half])
            f.flush()       # the first half is really on disk: a kill leaves a torn .tmp
            time.sleep(delay)
            f.write(data[half:])
        ckpt._atomic_write(Path(path), write)  # the trainer's own atomic write path

    ckpt.save = save


def _poison(steps: list[int], weights_at: int | None) -> None:
    import torch

    from trainer.model import GPT
    original, calls, bad = GPT.forward, [-1], set(steps)

    def forward(self, idx, targets=None):
        training = self.training and targets is not None
        if training:
            calls[0] += 1
            if calls[0] == weights_at:
                with torch.no_grad():
                    self.transformer.wte.weight.fill_(float("nan"))
        logits, loss = original(self, idx, targets)
        if training and calls[0] in bad:
            loss = loss * float("nan")
        return logits, loss

    GPT.forward = forward


class _FullDisk:
    """A file object whose writes fail with ENOSPC after ``budget`` bytes."""

    def __init__(self, f, budget: int):
        self._f, self._budget = f, budget

    def write(self, data):
        n = len(data)
        if n > self._budget:
            if self._budget > 0:
                self._f.write(data[:self._budget])
                self._f.flush()
            self._budget = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._budget -= n
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.__exit__(*exc)


def _writing(mode: str) -> bool:
    return any(c in mode for c in "wax+")


def _enospc(spec: dict) -> None:
    name, budget, skip = spec["name"], int(spec.get("after_bytes", 0)), [spec.get("skip_opens", 0)]
    real_open = builtins.open

    def fault_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and Path(file).name == name and _writing(mode):
            skip[0] -= 1
            if skip[0] < 0:
                return _FullDisk(f, budget)
        return f

    builtins.open = fault_open


def _readonly(root: str) -> None:
    root_path = os.path.realpath(root)

    def inside(path) -> bool:
        p = os.path.realpath(os.fspath(path))
        return p == root_path or p.startswith(root_path + os.sep)

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    real_open, real_mkdir = builtins.open, os.mkdir
    real_replace, real_unlink = os.replace, os.unlink

    def ro_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and _writing(mode) and inside(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def ro_mkdir(path, *args, **kwargs):
        if inside(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def ro_replace(src, dst, *args, **kwargs):
        if inside(dst):
            refuse(dst)
        return real_replace(src, dst, *args, **kwargs)

    def ro_unlink(path, *args, **kwargs):
        if inside(path):
            refuse(path)
        return real_unlink(path, *args, **kwargs)

    builtins.open, os.mkdir, os.replace, os.unlink = ro_open, ro_mkdir, ro_replace, ro_unlink


def _install() -> None:
    faults = json.loads(os.environ["GPTSCOPE_FAULTS"])
    if "slow_checkpoint" in faults:
        _slow_checkpoint(float(faults["slow_checkpoint"]))
    if "poison_steps" in faults or "nan_weights_at" in faults:
        _poison(faults.get("poison_steps", []), faults.get("nan_weights_at"))
    if "enospc" in faults:
        _enospc(faults["enospc"])
    if "readonly" in faults:
        _readonly(faults["readonly"])


if os.environ.get("GPTSCOPE_FAULTS"):
    _install()
