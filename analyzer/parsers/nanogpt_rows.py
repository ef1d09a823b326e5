"""Which iteration rows of the nanoGPT column reader (nanogpt_columns.py) are plain, i.e.
change nothing in the streaming parser but its counters, and which the parser must read
itself: a line stepping back, the line after it, and lines that may repeat an earlier one (a
console redraw). Pure functions of the columns."""
from __future__ import annotations

import numpy as np


def plain_rows(line: np.ndarray, step: np.ndarray, loss: np.ndarray, measured: np.ndarray
               ) -> np.ndarray:
    """Which iteration rows are plain: they follow an iteration line, step forward, have a
    finite loss and MFU measured as the row before; such rows change nothing in the parser
    but its counters (``StdoutParser.advance``)."""
    n = len(line)
    prev_iter = np.zeros(n, bool)
    prev_iter[1:] = line[1:] - 1 == line[:-1]
    plain = prev_iter & np.isfinite(loss)
    plain[1:] &= (step[1:] > step[:-1]) & (measured[1:] == measured[:-1])
    # the line after a step going back decides whether that was a stray line or a restart
    # (the parser holds it until then): it goes through the parser too
    plain[2:] &= step[1:-1] > step[:-2]
    plain[0] = False
    return plain


def maybe_repeats(step: np.ndarray, loss: np.ndarray, dt: np.ndarray, pct: np.ndarray,
                  window: int) -> np.ndarray:
    """Rows the parser must read because they may repeat an earlier line (a console redraw,
    StdoutParser._repeats_recent): when some row below the highest step so far has the same
    numbers as a row at most ``window`` rows before it, every row below the highest step so
    far (after a skipped repeat the parser still compares steps with that highest one).
    Nothing when no row repeats, the usual file: a resume or a second run reads as before."""
    n = len(step)
    out = np.zeros(n, bool)
    if n < 2:
        return out
    below = np.zeros(n, bool)
    below[1:] = step[1:] <= np.maximum.accumulate(step)[:-1]
    cand = np.flatnonzero(below)
    if not len(cand):
        return out
    near = np.zeros(n + 1, np.int64)  # the rows within ``window`` before a candidate, and it
    np.add.at(near, np.maximum(cand - window, 0), 1)
    np.add.at(near, cand + 1, -1)
    rows = np.flatnonzero(np.cumsum(near[:n]) > 0)
    keys = [a[rows].view(np.int64) for a in (dt, pct, loss)] + [step[rows]]
    order = rows[np.lexsort([rows] + keys)]  # same numbers together, in file order
    same = np.ones(len(order) - 1, bool)
    for a in (step, loss.view(np.int64), dt.view(np.int64), pct.view(np.int64)):
        same &= a[order[1:]] == a[order[:-1]]
    later, earlier = order[1:][same], order[:-1][same]
    if not (below[later] & (later - earlier <= window)).any():
        return out
    return below
