"""Keras' ``model.fit`` console output: an ``Epoch 3/25`` line, then the epoch's progress
line, whose last state (the ``\\r`` redraws are cut by ``clean_line``) sums the epoch up::

    Epoch 1/6
    18802/18802 - 1232s - loss: 2.1755 - val_loss: 1.5022 - 1232s/epoch - 66ms/step
     2445/2445 ━━━━━━━━━━━━━━━━━━━━ 216s 66ms/step - loss: 5.0008 - val_loss: 4.2176
    391/391 [==============================] - 45s 115ms/step - loss: 2.9473

The epoch is the run's step (the only counter printed), ``ms/step`` its batches' step time
and the seconds the epoch's wall time. Scripts that print Keras' epoch line and then the
epoch's losses on lines of their own (``Train Loss: 6.2136``, ``Val Loss: 5.3156``) are read
the same way (``epoch_loss``). Pure functions; the generic reader keeps the epoch.
"""
from __future__ import annotations

import re

from analyzer.parsers._text import to_float

_EPOCH = re.compile(r"\s*Epoch (\d+)/(\d+)\s*$")
# 'count/total', an optional bar (═, ━, [===>...]), then the ' - '-separated parts
_PROGRESS = re.compile(r"\s*(\d+)/(\d+)\s+(?:\[[=>.]*\]\s*|[━─═]+\s*)?(?:-\s+)?(.*)$")
_TIME = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)(?:/(step|epoch))?$")
_PAIR = re.compile(r"([A-Za-z_][\w]*)\s*:\s*([-+]?(?:\d[\d.]*(?:[eE][-+]?\d+)?|nan|inf))$",
                   re.IGNORECASE)
_MS = {"ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}
# an epoch's loss on its own line, after its 'Epoch 3/25' line: 'Train Loss: 6.2136'
_EPOCH_LOSS = re.compile(r"\s*(train(?:ing)?|val(?:id(?:ation)?)?|eval(?:uation)?)\s+loss\s*[:=]\s*"
                         r"([-+]?(?:\d[\d.]*(?:[eE][-+]?\d+)?|nan|inf))\s*$", re.IGNORECASE)


def epoch_line(text: str) -> tuple[int, int] | None:
    """(epoch, epochs) of an 'Epoch 3/25' line."""
    m = _EPOCH.match(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def epoch_loss(text: str) -> tuple[str, float | None] | None:
    """('loss' or 'val_loss', value) of an epoch's loss printed alone on its line."""
    m = _EPOCH_LOSS.match(text)
    if m is None:
        return None
    return ("loss" if m.group(1).lower().startswith("train") else "val_loss"), to_float(m.group(2))


def progress_line(text: str) -> dict[str, float | None] | None:
    """An epoch's progress line: {'count', 'total', 'epoch_s', 'step_ms', 'loss', 'val_loss',
    'lr'} (those it shows), or None for another line. 'ETA' lines are the epoch unfinished."""
    m = _PROGRESS.match(text)
    if m is None:
        return None
    out: dict[str, float | None] = {"count": float(m.group(1)), "total": float(m.group(2))}
    for part in re.split(r"\s+-\s+|\s+(?=\d[\d.]*m?s/step)", m.group(3).strip()):
        part = part.strip()
        if part.startswith("ETA"):
            out["eta"] = 1.0
        elif (t := _TIME.match(part)) is not None:
            ms = float(t.group(1)) * _MS[t.group(2)]
            if t.group(3) == "step":
                out["step_ms"] = ms
            elif "epoch_s" not in out:
                out["epoch_s"] = ms / 1000.0
        elif (kv := _PAIR.match(part)) is not None:
            key = kv.group(1).lower()
            name = {"loss": "loss", "val_loss": "val_loss", "lr": "lr",
                    "learning_rate": "lr"}.get(key)
            if name is not None:
                out[name] = to_float(kv.group(2))
        else:
            return None  # not Keras' wording: some other 'n/N ...' line
    return out if "loss" in out or "eta" in out else None


# a fit of one epoch prints no 'Epoch 1/1' line in Keras 3 (keras-hub's examples): its
# progress line alone, with Keras' bar and a time per step, is a training line whose count
# is the step (an unfinished one, '2/500 ━━━━ 41s 84ms/step - loss: 3.7188', shows the time
# left, never the time spent)
_BAR = re.compile(r"\s*\d+/\d+\s+(?:\[[=>.]+\]|[━─═]+)\s")


def headerless_line(text: str) -> dict[str, float | None] | None:
    """A Keras progress line outside any 'Epoch N/M' (see above): progress_line's fields,
    if it has Keras' bar, a time per step and a loss; else None."""
    if _BAR.match(text) is None:
        return None
    k = progress_line(text)
    if k is None or "loss" not in k or "step_ms" not in k:
        return None
    if k["count"] != k["total"]:
        k.pop("epoch_s", None)
    return k
