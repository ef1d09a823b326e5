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
# Composer's names of the fields read
_COMPOSER = {"train loss/train/total": "loss", "train throughput/tokens_per_sec": "tokens_per_s",
             "eval metrics/eval/languagecrossentropy": "val_loss"}


def block_header(text: str) -> tuple[int, int | None] | None:
    """(step, planned steps) of a block's header line, else None."""
    if "[step=" not in text and "[batch=" not in text:  # (every line of a log asks)
        return None
    m = _HEADER.match(text)
    if m is None:
        return None
    step, total = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return int(step), int(total) if total else None


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
    if key == "train throughput/batches_per_sec" and value:
        return "step_ms", 1000.0 / value
    if key.startswith("train lr-"):  # 'Train lr-DecoupledAdamW/group0: 6.0e-05'
        return "lr", value
    return "", None
