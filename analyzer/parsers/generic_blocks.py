"""Step blocks: a trainer that prints a step's metrics as a header line and indented
``key=value`` lines under it (AllenAI OLMo's console output)::

    [2024-04-23 11:37:31] INFO     [olmo.train:816, rank=0] [step=2/739328]
        train/CrossEntropyLoss=10.88
        throughput/device/tokens_per_second=16,222
        throughput/device/batches_per_second=0.0619

and MosaicML Composer's (llm-foundry), its fields as ``key: value``, perhaps behind Slurm's
rank label (``0: ``)::

    [epoch=1][batch=3/5]:
             Train loss/train/total: 8.3177
             Train throughput/batches_per_sec: 0.0014

Composer before 0.13 printed one metric a line instead, its batch in the line's prefix
(``metric_line``)::

    [metric][batch=0]: metrics/train/LanguageCrossEntropy: 2.3125
    [metric][batch=0]: metrics/train/Perplexity: 10.1

Trax's training loop prints its steps' lines the same way, each naming its step::

    Step     10: Ran 9 train steps in 61.40 secs
    Step     10: train CrossEntropyLoss |  10.41241550
    Step     10: eval  CrossEntropyLoss |  10.41329861

The generic reader collects a block's fields (``block_field``) until a line that is not one
of them, then reads it as the step's line. Pure functions; the state is the reader's.
"""
from __future__ import annotations

import re

from analyzer.parsers._text import to_float

# the header: '[step=2/739328]' ending the line (after the logger's prefix), Composer's
# '[batch=3/5]:' ('[epoch=1][batch=3/5]:')
# (OLMo's later '[step=1/739328,epoch=0]' adds the epoch)
_HEADER = re.compile(r"(?:.*\s)?\[step=(\d+)(?:/(\d+))?(?:,epoch=\d+)?\]\s*$|"
                     r"(?:\d{1,5}:\s*)?(?:\[epoch=\d+\])?\[batch=(\d+)/(\d+)\]:\s*$")
# an indented metric: '    train/CrossEntropyLoss=10.88' (thousands commas as printed),
# '         Train loss/train/total: 10.9736'
_FIELD = re.compile(r"(?:\d{1,5}:)?\s+([A-Za-z][\w/ ().-]*?)\s*[=:]\s*"
                    r"([-+]?(?:[\d,]*\.?\d+(?:[eE][-+]?\d+)?|nan|inf))\s*$", re.IGNORECASE)
# Composer's old one-metric lines: '[metric][batch=0]: time/epoch: 2365 ' (after a rank label)
_METRIC = re.compile(r"(?:\d{1,5}:\s*)?\[metric\]\[batch=(\d+)\]:(\s.*)$")
# Trax's step lines: 'Step     10: Ran 9 train steps in 61.40 secs', then one line a metric,
# 'Step     10: train CrossEntropyLoss |  10.41241550' (the metric's name right-aligned)
_TRAX = re.compile(r"\s*Step\s+(\d+):\s+(?:Ran (\d+) train steps in (\d+(?:\.\d+)?) secs|"
                   r"(train|eval)\s+(\w+)\s+\|\s+([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)))"
                   r"\s*$", re.IGNORECASE)
# Composer's names of the fields read ('Train '/'Eval ' before them in the block layout, none
# in the one-metric lines; the train cross-entropy is the loss there, the total loss here)
_COMPOSER = {"train loss/train/total": "loss", "train throughput/tokens_per_sec": "tokens_per_s",
             "eval metrics/eval/languagecrossentropy": "val_loss",
             "loss/train/total": "loss", "metrics/train/languagecrossentropy": "loss",
             "metrics/eval/languagecrossentropy": "val_loss",
             "throughput/tokens_per_sec": "tokens_per_s"}


def block_header(text: str) -> tuple[int, int | None] | None:
    """(step, planned steps) of a block's header line, else None."""
    if "[step=" not in text and "[batch=" not in text:  # (every line of a log asks)
        return None
    m = _HEADER.match(text)
    if m is None:
        return None
    step, total = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return int(step), int(total) if total else None


def metric_line(text: str) -> tuple[int, tuple[str, float | None]] | None:
    """(step, field) of Composer's one-metric line (the field as block_field's) or of a Trax
    step line, else None."""
    if "[metric][batch=" in text:
        m = _METRIC.match(text)
        field = block_field(m.group(2)) if m is not None else None
        return None if field is None else (int(m.group(1)), field)
    if "Step" not in text or (m := _TRAX.match(text)) is None:
        return None
    step = int(m.group(1))
    if m.group(2):  # 'Ran 9 train steps in 61.40 secs': the steps since the last such line
        n = int(m.group(2))
        return step, ("step_ms", float(m.group(3)) * 1000.0 / n if n else None)
    name = m.group(5).lower()
    if "loss" not in name and "crossentropy" not in name:
        return step, ("", None)  # (an accuracy, a sequence accuracy: part of the block)
    return step, ("val_loss" if m.group(4) == "eval" else "loss", to_float(m.group(6)))


def block_field(text: str) -> tuple[str, float | None] | None:
    """(schema field, value) of an indented metric line the reader knows; ('', None) for
    one it does not (still part of the block); None for a line that is no metric."""
    m = _FIELD.match(text)
    if m is None:
        return None
    key, value = m.group(1).lower(), to_float(m.group(2))
    if key == "train/crossentropyloss":
        return "loss", value
    if key.startswith("eval/") and key.endswith("/crossentropyloss"):
        return "val_loss", value
    if key.startswith("optim/learning_rate"):
        return "lr", value
    if key == "optim/total_grad_norm":
        return "grad_norm", value
    if key == "throughput/device/tokens_per_second":
        return "tokens_per_s", value
    if key == "throughput/device/batches_per_second" and value:
        return "step_ms", 1000.0 / value
    if key in _COMPOSER:
        return _COMPOSER[key], value
    if key in ("train throughput/batches_per_sec", "throughput/batches_per_sec") and value:
        return "step_ms", 1000.0 / value
    if key.startswith("train lr-"):  # 'Train lr-DecoupledAdamW/group0: 6.0e-05'
        return "lr", value
    return "", None
