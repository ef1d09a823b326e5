"""How a run is doing, in one word: the dashboard's status rule, in one place.

From the content first: a ``run_end`` event (ours, or one a parser read from a foreign log's
traceback, cancel line or final eval) says completed / failed / interrupted. Then from the
clock: our trainer always writes ``run_end`` when it stops, so one of our runs that is silent
for the stall window has stalled; another trainer's log has no end marker, so once it has
not changed for a short quiet window it has ended. A file with no line of any known format
is "not a training log" once it shows it (binary bytes, or detection gave up, or an empty
file left alone) and "waiting" before. Pure functions: no Streamlit, no I/O but one small
read of a file's first bytes.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

STALL_MIN_S = 120.0   # one of our runs: silent this long (at least) without run_end = stalled
QUIET_S = 30.0        # a foreign log unchanged this long (and 3 slow steps) has ended
NOT_A_LOG = "not a training log"
ENDED = ("completed", "failed", "interrupted")


def stall_after_s(max_dt_ms: float | None, minimum: float = STALL_MIN_S) -> float:
    """How long a run may be silent before it counts as stalled (or, foreign, ended).

    At least ``minimum`` seconds, and at least three times the slowest iteration seen so far
    (dt_ms includes evals and checkpoints, so a run whose evals take minutes is not called
    stalled during its next eval).
    """
    if max_dt_ms is None or not math.isfinite(max_dt_ms):
        return minimum
    return max(minimum, 3.0 * max_dt_ms / 1000.0)


def run_status(end_status: str | None, last_write: float, now: float, silent_after_s: float,
               ours: bool = True, finished: bool = False) -> str:
    """running, completed, failed, interrupted, stalled or ended.

    ``end_status`` is the run_end event's status; ``finished``: a foreign log that reached
    its max_iters. Otherwise a silent run is 'stalled' if ours, else 'ended'.
    """
    if end_status:
        return end_status if end_status in ENDED else "ended"
    if finished:
        return "completed"
    if now - last_write <= silent_after_s:
        return "running"
    return "stalled" if ours else "ended"


def status_of(run: Any, last_write: float, now: float, last_step: int | None,
              max_dt_ms: float | None) -> str:
    """The status of an analyzer Run whose file was last written at ``last_write``."""
    ours = run.format == "gptscope"
    max_iters = run.meta.get("max_iters") if run.meta else None
    finished = (not ours and max_iters is not None and last_step is not None
                and last_step >= int(max_iters))
    end_status = run.end.get("status") if run.end else None
    window = stall_after_s(max_dt_ms, STALL_MIN_S if ours else QUIET_S)
    return run_status(end_status, last_write, now, window, ours=ours, finished=finished)


def looks_binary(head: bytes) -> bool:
    """NUL bytes, or mostly bytes that are neither text nor UTF-8: not a text log."""
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start < len(head) - 4  # a multi-byte character cut at the end is text
    return False


def read_head(path: Path, size: int = 4096) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def no_run_status(path: Path, size: int, last_write: float, now: float,
                  gave_up: bool, error: str | None = None) -> str:
    """The status of a file in which no line of a known format was read (yet).

    ``gave_up``: the follower's detection has seen enough lines to say no format matches.
    A file that has not changed for ``QUIET_S`` is judged on what it holds: empty, or no
    format recognised in its head, is not a training log (a log still printing its header
    keeps 'waiting' while it is written).
    """
    if error and not gave_up:
        return "unreadable"
    head = read_head(path, 256 << 10)
    if gave_up or looks_binary(head[:4096]):
        return NOT_A_LOG
    if now - last_write > QUIET_S and (size == 0 or not _recognised(head)):
        return NOT_A_LOG
    return "waiting"


def _recognised(head: bytes) -> bool:
    from analyzer import parsers as registry  # late: the analyzer imports pandas
    lines = head.decode("utf-8", errors="replace").splitlines()[: registry.HEAD_LINES]
    return registry.detect(lines) is not None


def upload_problem(name: str, data: bytes) -> str | None:
    """Why an uploaded file is refused (one line), or None when it reads as a training log.

    The same test the run list applies: empty, binary, or no line that any parser of the
    analyzer recognises in its head.
    """
    if not data.strip():
        return f"{name}: {NOT_A_LOG} (the file is empty)"
    from analyzer import parsers as registry  # late: the analyzer imports pandas
    text = data[: 4 << 20].decode("utf-8", errors="replace")
    if registry.detect(text.splitlines()[: registry.LONG_HEAD_LINES]) is not None:
        return None
    if looks_binary(data[:4096]):
        return f"{name}: {NOT_A_LOG} (binary data, not text)"
    return (f"{name}: {NOT_A_LOG} (no line in a format the analyzer reads: "
            f"{', '.join(registry.names())})")
