"""Training progress printed as a table: a header row naming the columns, then rows of numbers.

::

      Step       Train         Val        Best          (a JAX notebook's own table)
        20      1.0122      1.0485      1.0485
    | Step | Training Loss | Validation Loss |           (markdown, Hugging Face's notebook)
    |------|---------------|-----------------|
    | 500  | 2.316100      | 2.201853        |

A header is a row of words (no digit) with one step column (``Step``, ``Iter``, ``Epoch`` when
no step is named) and a train or a val loss column; a row is as many numbers as the header
has columns, the step a whole number. Columns nobody reads (``Best``, a perplexity) are left.
Pure functions: the generic parser keeps the header it saw.
"""
from __future__ import annotations

import re

from analyzer.parsers._text import to_float

# a column's name (lower case, '_' and '-' read as spaces) -> what it holds
_ROLES = {
    "step": "step", "steps": "step", "iter": "step", "iters": "step", "iteration": "step",
    "global step": "step", "update": "step", "epoch": "epoch",
    "train": "loss", "training": "loss", "loss": "loss", "train loss": "loss",
    "training loss": "loss", "trn loss": "loss",
    "val": "val_loss", "valid": "val_loss", "validation": "val_loss", "val loss": "val_loss",
    "valid loss": "val_loss", "validation loss": "val_loss", "eval loss": "val_loss",
    "lr": "lr", "learning rate": "lr",
}
_MISSING = ("-", "—", "n/a", "N/A")  # a cell with no value
_RULE = re.compile(r"\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")  # '|---|:---:|'


def _cells(text: str) -> list[str]:
    """A row's cells: between pipes, tabs, or runs of two spaces or more (one space when
    the row has no wider gap: one-word names)."""
    t = text.strip()
    if "|" in t:
        return [c.strip() for c in t.strip("|").split("|")]
    if "\t" in t:
        return [c.strip() for c in t.split("\t")]
    wide = re.split(r"\s{2,}", t)
    return wide if len(wide) > 1 else t.split()


def header_roles(text: str) -> list[str | None] | None:
    """The role of each column of a table's header row, None when the line is no header."""
    if any(ch.isdigit() for ch in text) or len(text) > 300:
        return None
    cells = _cells(text)
    if not 2 <= len(cells) <= 16:
        return None
    roles = [_ROLES.get(c.lower().replace("_", " ").replace("-", " ")) for c in cells]
    if "step" not in roles:  # an epoch table ('Epoch | Training Loss | Validation Loss')
        roles = ["step" if r == "epoch" else r for r in roles]
    if roles.count("step") != 1 or not {"loss", "val_loss"} & set(roles):
        return None
    if 2 * sum(r is not None for r in roles) < len(roles):
        return None  # mostly words of no column: a sentence ('... the loss at this step ...')
    return roles


def is_rule(text: str) -> bool:
    """A markdown table's rule under its header ('|------|------|')."""
    return _RULE.match(text) is not None


def row_values(text: str, roles: list[str | None]) -> tuple[int, dict[str, float]] | None:
    """(step, {role: value}) of a row of the table, None when the line is not one."""
    cells = text.replace("No log", "-").replace("|", " ").split()  # (Hugging Face's words)
    if len(cells) != len(roles):
        return None
    values = [None if c in _MISSING else to_float(c) for c in cells]
    if any(v is None and c not in _MISSING for v, c in zip(values, cells)):
        return None
    step = values[roles.index("step")]
    if step is None or step != step or step != int(step):  # (a fraction is no step)
        return None
    return int(step), {r: v for r, v in zip(roles, values)
                       if r not in (None, "step", "epoch") and v is not None}
