"""Any nanoGPT-like stdout that no specific format reads: lines with a step and labelled numbers.

Forks print their own variants of the same facts, in their own order and punctuation::

    490 | loss 5.7543 | lr 4.900000e-05 | 8060.78ms | mfu 0.21%          (llama2.c)
    step1 | loss: 10.16 | dt: 122.74ms | tok/sec: 141k | norm: 6.50
        step    0| loss: 10.938572 | lr: 6.0000e-05 | norm: 27.0145  | dt: 3663.01ms
    step 0, loss: 10.899394989013672
    step 500: train loss 5.7373, val loss 5.9544                        (an eval)

A line counts when it starts with a step number (``step``/``iter``/``it`` or a bare number,
optionally ``N/total``) followed by fields that carry a **label** this reader knows:

- ``loss`` / ``train loss`` -> loss; ``val loss`` / ``eval loss`` / ``validation loss`` (and
  ``train loss`` beside one of them) -> an eval;
- ``lr`` / ``learning rate``; ``norm`` / ``grad norm``;
- a time with its unit (``dt: 410ms``, ``time 1.2s``, or a bare ``8060.78ms``) -> ``dt_ms``:
  forks time one iteration to the next, as nanoGPT does, so an iteration right after an eval
  is eval-inclusive; a number without a unit is no time (a line cut short);
- ``tok/s`` / ``tok/sec`` / ``tokens/s`` with ``k``/``M`` suffixes -> ``tokens_per_s``;
- ``mfu`` (a percentage, or a fraction when below 1 without ``%``) -> ``mfu``.

Unknown labels are ignored; a line without a step or without any loss is not a training line
(skipped and counted). The fields found are listed in ``run.stats.fields``, so that a report
can say what the reader understood. The format is reported as ``generic``.
"""
from __future__ import annotations

import re

from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import clean_line, to_float

NAME = "generic"

# the step at the start of a line: 'step 12', 'step12', 'iter 12:', '12 |', 'Step 12/100', '[12]'
_HEAD = re.compile(r"\s*\[?(?:(?:global[ _]?)?step|iter(?:ation)?|it)?\s*[:=#]?\s*(\d+)"
                   r"(?:\s*/\s*(\d+))?\]?\s*(?:[|:,;]|\s)\s*(.*)$", re.IGNORECASE)
_SPLIT = re.compile(r"\s*\|\s*|,\s+|;\s*|\s{2,}|\t")
_PART = re.compile(r"(?P<key>[A-Za-z][A-Za-z_/ .-]*?)?\s*[:=]?\s*\(?"
                   r"(?P<num>[-+]?(?:nan|inf|\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+))"
                   r"\s*(?P<unit>.*)$", re.IGNORECASE)
_TRAIN = {"loss", "train loss", "training loss", "train", "trl", "tr loss", "lm loss",
          "loss train", "train/loss"}
_VAL = re.compile(r"^(?:val|valid|validation|eval|evaluation|test|dev)(?:[ /]?loss)?$|"
                  r"^(?:loss[ /])?(?:val|valid|validation|eval)$")
_LR = {"lr", "learning rate", "lr0"}
_NORM = {"norm", "grad norm", "gnorm", "gradient norm", "grad", "grad norm total"}
_TIME = {"dt", "time", "step time", "iter time", "t", "iteration time", "time/step"}
_TPS = {"tok/s", "tok/sec", "tokens/s", "tokens/sec", "tps", "tokens per second",
        "tokens per sec", "throughput", "tok per sec"}
_SCALE = {"k": 1e3, "m": 1e6, "g": 1e9}
_CKPT = re.compile(r"saving checkpoint to (.+)$")


def read_fields(rest: str) -> dict[str, float | None]:
    """The labelled numbers of a line's text after its step, by schema field name (and
    'val_loss' / 'train_loss' for an eval); a field whose number is not finite is kept as
    NaN so that a NaN loss is seen."""
    out: dict[str, float | None] = {}
    for part in _SPLIT.split(rest.strip()):
        m = _PART.match(part.strip())
        if m is None:
            continue
        key = " ".join((m.group("key") or "").lower().replace("_", " ").split()).rstrip(" :=")
        num = to_float(m.group("num"))
        unit = m.group("unit").strip().lower()
        if num is None:
            continue
        name, value = _field(key, num, unit)
        # the first value wins, but a part that gave none ('(50.00%)' read as a time without
        # its unit) does not hide the labelled field after it
        if name is not None and out.get(name) is None:
            out[name] = value
    return out


def _field(key: str, num: float, unit: str) -> tuple[str | None, float | None]:
    if key in _TRAIN:
        return "loss", num
    if _VAL.match(key):
        return "val_loss", num
    if key in _LR:
        return "lr", num
    if key in _NORM:
        return "grad_norm", num
    if key == "mfu" or (not key and "mfu" in unit):
        return "mfu", num / 100.0 if "%" in unit or num > 1 else num
    if key in _TPS or (not key and unit.startswith(("tok/s", "tokens/s", "tok/sec"))):
        return "tokens_per_s", num * _SCALE.get(unit[:1], 1.0)
    if key in _TIME or not key:
        return "dt_ms", _ms(num, unit)
    return None, None


def _ms(num: float, unit: str) -> float | None:
    """A time in ms from its unit; no unit (a cut line, or a count) is no time."""
    if unit.startswith("ms"):
        return num
    if unit.startswith(("s ", "sec")) or unit == "s":
        return num * 1000.0
    return None


def _line_fields(text: str) -> tuple[int, int | None, dict[str, float | None]] | None:
    m = _HEAD.match(text)
    if m is None:
        return None
    fields = read_fields(m.group(3))
    if "loss" not in fields and "val_loss" not in fields:
        return None
    total = int(m.group(2)) if m.group(2) else None
    return int(m.group(1)), total, fields


def detect(head: list[str]) -> float:
    """Confidence that these lines are a nanoGPT-like log in no specific format: kept below
    every specific format's confidence on its own lines, so it is the last resort."""
    hits = 0
    for raw in head:
        got = _line_fields(clean_line(raw))
        if got is not None and "loss" in got[2] and "val_loss" not in got[2]:
            hits += 1  # training lines only: nanoGPT's own evals alone are nanoGPT's
            if hits >= 3:
                return 0.55
    return 0.25 if hits else 0.0


class Parser(StdoutParser):
    NAME = NAME
    EVAL_IN_DT = True  # forks time one iteration to the next, as nanoGPT

    def peek_step(self, text: str) -> int | None:
        got = _line_fields(text)
        return got[0] if got is not None and "val_loss" not in got[2] else None

    def parse_line(self, text: str, lineno: int) -> bool:
        got = _line_fields(text)
        if got is None:
            m = _CKPT.match(text)
            if m:  # nanoGPT's line, which forks keep
                self.checkpoint(self.last_eval_step if self.last_eval_step is not None
                                else self.last_iter_step, m.group(1).strip())
                return True
            return False
        step, total, f = got
        if total is not None and self.header.max_iters is None:
            self.header.max_iters = total
        for name in f:
            if name not in self.stats.fields:
                self.stats.fields.append(name)
        if "val_loss" in f:
            self.evaluation(step, train_loss=f.get("loss"), val_loss=f["val_loss"])
            return True
        self.iteration(step, loss=f["loss"], lr=f.get("lr"), grad_norm=f.get("grad_norm"),
                       dt_ms=f.get("dt_ms"), tokens_per_s=f.get("tokens_per_s"),
                       mfu=f.get("mfu"))
        return True
