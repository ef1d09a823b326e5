"""Vectorised reading of big nanoGPT logs: a million lines in a fraction of a second.

A per-line Python loop spends ~2 µs per line just on regex and float(); a 1,000,000-line
log would take seconds. Nearly all lines of a big log are plain iteration lines, so:

1. split the bytes into lines with numpy (newline positions) as a zero-copy Arrow array;
2. take the lines that look like ``iter N: loss X, time Yms, mfu Z%`` and let Arrow's
   multi-threaded CSV reader cut them at spaces, then verify the words and cast the
   numbers column-wise;
3. run the ordinary streaming ``Parser`` on every other line *and* on the few iteration
   lines whose meaning depends on context (the first after any other line, a step that goes
   back, a NaN loss, the first measured MFU). Between those lines the parser's state is
   moved forward in O(1) (elapsed time from a cumulative sum, last step, line counts), and
   the plain iterations in between get their columns from the state the parser had there.

The result is identical to ``Parser.feed`` on the same lines (tests check it on every real
log and on generated ones); whenever a log does not fit the scheme (an iteration line in
another format, a number Arrow reads differently), ``None`` sends the caller to ``feed``.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from analyzer.run import ITER_COLUMNS, Run

CHUNK_LINES = 1 << 16   # lines per vectorised chunk: bounds the temporary Arrow columns
MIN_PIECE = 4 << 20     # bytes: smaller files are not split across threads
_COLS = [f"c{i}" for i in range(8)]
_KEYS = ("step", "loss", "dt", "pct")


def line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of every line in a byte array (end excludes ``\\n`` and a
    ``\\r`` before it), the same lines ``_text.decode_lines`` gives."""
    nl = np.flatnonzero(buf == 10)
    starts = np.empty(len(nl) + 1, np.int64)
    starts[0] = 0
    starts[1:] = nl + 1
    ends = np.append(nl, len(buf)).astype(np.int64)
    if starts[-1] == len(buf):  # the text ends with a newline: no empty last line
        starts, ends = starts[:-1], ends[:-1]
    if len(ends):
        cr = buf[np.maximum(ends - 1, 0)] == 13
        ends = np.where(cr & (ends > starts), ends - 1, ends)
    return starts, ends


def _pieces(data: Any, n: int) -> list[tuple[int, int]]:
    """[lo, hi) byte ranges of whole lines, about len(data)/n each."""
    size, cuts = len(data), [0]
    for i in range(1, n):
        nl = data.find(b"\n", max(cuts[-1], size * i // n))
        if nl < 0:
            break
        cuts.append(nl + 1)
    return [(lo, hi) for lo, hi in zip(cuts, cuts[1:] + [size]) if hi > lo]


def _extract(data: Any, lo: int, hi: int, threads: bool) -> dict[str, np.ndarray] | None:
    """Line bounds of data[lo:hi] and the step/loss/dt/mfu% columns of its lines in the
    exact current nanoGPT format (with their line indices); None if a line that looks like
    one cannot be read the same way as feed()."""
    buf = np.frombuffer(data, np.uint8, count=hi - lo, offset=lo)
    starts, ends = line_bounds(buf)
    lines = pa.Array.from_buffers(pa.large_binary(), len(starts),
                                  [None, pa.py_buffer(np.append(starts, len(buf))),
                                   pa.py_buffer(buf)])
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("line",) + _KEYS}
    for a in range(0, len(starts), CHUNK_LINES):
        b = min(a + CHUNK_LINES, len(starts))
        chunk = lines.slice(a, b - a)
        pct_end = buf[np.maximum(ends[a:b] - 1, 0)] == ord("%")
        cand = pc.and_(pc.starts_with(chunk, b"iter "), pa.array(pct_end))
        idx = np.flatnonzero(cand.to_numpy(zero_copy_only=False))
        if not len(idx):
            continue
        read = _read_tokens(pc.filter(chunk, cand), threads)
        if read is None:
            return None
        ok, cols = read
        out["line"].append(idx[ok] + a)
        for k, v in zip(_KEYS, cols):
            out[k].append(v[ok])
    res = {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}
    res["line"] = res["line"].astype(np.int64)
    res["starts"], res["ends"] = starts + lo, ends + lo
    return res


def _iter_columns(data: Any) -> dict[str, np.ndarray] | None:
    """_extract over the whole file, in parallel pieces on a multi-core machine (numpy and
    Arrow release the GIL); line indices and offsets are for the whole file."""
    workers = min(os.cpu_count() or 1, 8, max(1, len(data) // MIN_PIECE))
    pieces = _pieces(data, workers)
    if len(pieces) > 1:
        with ThreadPoolExecutor(len(pieces)) as pool:
            parts = list(pool.map(lambda r: _extract(data, r[0], r[1], False), pieces))
    else:
        parts = [_extract(data, lo, hi, True) for lo, hi in pieces]
    if not parts or any(p is None for p in parts):
        return None
    first = np.cumsum([0] + [len(p["starts"]) for p in parts[:-1]])
    for p, f in zip(parts, first):
        p["line"] += f
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _read_tokens(lines: pa.Array, threads: bool) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """Cut 'iter N: loss X, time Yms, mfu Z%' lines at spaces and read the numbers.

    Returns which lines really have that form (the others are left to the parser) and the
    step, loss, dt and mfu columns; None if the lines cannot be cut into 8 fields.
    """
    body = lines.buffers()[2]
    offs = np.frombuffer(lines.buffers()[1], np.int64, len(lines) + 1, lines.offset * 8)
    body = body[int(offs[0]):int(offs[-1])]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(body),
            read_options=pcsv.ReadOptions(column_names=_COLS, block_size=4 << 20,
                                          use_threads=threads),
            parse_options=pcsv.ParseOptions(delimiter=" ", quote_char=False,
                                            ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types={c: pa.binary() for c in _COLS},
                                                include_columns=_COLS[1:]))
        if table.num_rows != len(lines):
            return None
        checks = [pc.equal(table["c2"], b"loss"), pc.equal(table["c4"], b"time"),
                  pc.equal(table["c6"], b"mfu"), pc.ends_with(table["c1"], b":"),
                  pc.ends_with(table["c3"], b","), pc.ends_with(table["c5"], b"ms,"),
                  pc.ends_with(table["c7"], b"%")]
        ok = np.ones(len(lines), bool)
        for c in checks:
            ok &= c.to_numpy(zero_copy_only=False)
        cols = []
        for name, cut, typ in (("c1", 1, pa.int64()), ("c3", 1, pa.float64()),
                               ("c5", 3, pa.float64()), ("c7", 1, pa.float64())):
            values, valid = _numbers(pc.binary_slice(table[name].combine_chunks(), 0, -cut), typ)
            ok &= valid
            cols.append(values)
        return ok, cols
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


_NUMBER = {pa.int64(): rb"^[-+]?\d+$",
           pa.float64(): rb"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:nan|inf)$"}


def _numbers(tokens: pa.Array, typ: pa.DataType) -> tuple[np.ndarray, np.ndarray]:
    """The tokens as numbers, and which tokens are numbers at all (a cast fails as a whole,
    so only when it does are the odd tokens looked for)."""
    try:
        values = pc.cast(tokens, typ)
        return values.to_numpy(zero_copy_only=False), np.ones(len(tokens), bool)
    except pa.ArrowInvalid:
        valid = pc.match_substring_regex(tokens, _NUMBER[typ]).to_numpy(zero_copy_only=False)
        values = np.zeros(len(tokens), np.int64 if typ == pa.int64() else np.float64)
        values[valid] = pc.cast(pc.filter(tokens, pa.array(valid)), typ
                                ).to_numpy(zero_copy_only=False)
        return values, valid


def parse_nanogpt(data: bytes, run_id: str = "log") -> Run | None:
    """nanogpt.parse_file_fast (see the module docstring)."""
    from analyzer.parsers import nanogpt

    cols = _iter_columns(data)
    if cols is None or not len(cols["line"]):
        return None
    starts, ends = cols["starts"], cols["ends"]
    line, step, loss, dt, pct = (cols[k] for k in ("line",) + _KEYS)
    step = step.astype(np.int64)
    n = len(line)
    measured = pct >= 0
    elapsed = np.cumsum(dt / 1000.0)
    prev_iter = np.zeros(n, bool)
    prev_iter[1:] = line[1:] - 1 == line[:-1]
    plain = prev_iter & np.isfinite(loss)
    plain[1:] &= (step[1:] > step[:-1]) & (measured[1:] == measured[:-1])
    plain[0] = False

    # every line that is not a plain iteration goes through the streaming parser, in order
    is_plain = np.zeros(len(starts), bool)
    is_plain[line[plain]] = True
    row_of_line = np.full(len(starts), -1, np.int64)
    row_of_line[line] = np.arange(n)
    parser = nanogpt.Parser(run_id)
    events: list[dict[str, Any]] = []
    scalar_rows: list[tuple[int, int, dict[str, Any]]] = []   # (row, segment, iter event)
    runs: list[tuple[int, int, int, Any, Any]] = []           # plain rows [a, b) and state
    done = 0
    for li in np.flatnonzero(~is_plain).tolist():
        row = int(row_of_line[li])
        k = row if row >= 0 else int(np.searchsorted(line, li))
        if k > done:
            _advance(parser, runs, done, k, step, elapsed)
            done = k
        text = data[starts[li]:ends[li]].decode("utf-8", errors="replace")
        for ev in parser.feed([text], li + 1):
            if ev["type"] == "iter":
                if row < 0:
                    return None  # an iteration line in a form the columns did not read
                scalar_rows.append((row, parser.segment, ev))
            else:
                events.append(ev)
        if row >= 0:
            if not scalar_rows or scalar_rows[-1][0] != row:
                return None  # a line the columns read that the parser does not call iter
            done = row + 1
    if n > done:
        _advance(parser, runs, done, n, step, elapsed)
    events += parser.finish()
    del cols, starts, ends, is_plain, row_of_line  # free before the big table is built
    iters = _iter_frame(n, runs, scalar_rows, step, loss, dt, pct, measured, elapsed)
    run = Run.from_events(events, format=nanogpt.NAME, stats=parser.stats)
    run.iters = iters
    pa.default_memory_pool().release_unused()  # give the temporary columns back to the OS
    return run


def _advance(parser: Any, runs: list, a: int, b: int, step: np.ndarray,
             elapsed: np.ndarray) -> None:
    """Move the parser over the plain iterations [a, b) as feed() would have."""
    runs.append((a, b, parser.segment, parser._mfu_c, parser.seg_header.tokens_per_iter))
    parser.stats.lines += b - a
    parser.stats.parsed += b - a
    parser.last_iter_step = int(step[b - 1])
    parser.elapsed = float(elapsed[b - 1])
    parser._eval_step = None
    parser._exception = None


def _iter_frame(n: int, runs: list, scalar_rows: list, step: np.ndarray, loss: np.ndarray,
                dt: np.ndarray, pct: np.ndarray, measured: np.ndarray,
                elapsed: np.ndarray) -> pd.DataFrame:
    """The iteration table: plain rows computed from their run's parser state exactly as
    Parser._iter does, the parser's own rows copied from its events."""
    seg = np.zeros(n, np.int64)
    tps = np.full(n, np.nan)
    mfu = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for a, b, s, c, t in runs:
            seg[a:b] = s
            d = dt[a:b]
            if t is not None and t > 0:
                tps[a:b] = np.where(d > 0, t / (d / 1000.0), np.nan)
            if c is not None:
                mfu[a:b] = np.where(d > 0, c / d, np.nan)
        smoothed = np.where(measured, pct / 100.0, np.nan)
    # the arrays passed in are this reader's own: they become columns without copies (a
    # plain row's loss is finite; the parser's rows overwrite theirs below)
    cols: dict[str, Any] = {"segment": seg, "step": step, "time": elapsed, "loss": loss,
                            "dt_ms": dt, "eval_inclusive": np.zeros(n, bool),
                            "tokens_per_s": tps, "mfu": mfu, "mfu_smoothed": smoothed}
    for key in ("lr", "grad_norm", "step_ms", "step_ms_min", "step_ms_max", "slowest_rank"):
        cols[key] = np.full(n, np.nan)
    for row, s, ev in scalar_rows:
        cols["segment"][row] = s
        for key in ITER_COLUMNS[2:]:
            value = ev.get(key)
            cols[key][row] = (bool(value) if key == "eval_inclusive"
                              else np.nan if value is None else value)
    cols["step"] = pd.array(step, dtype="Int64")
    return pd.DataFrame(cols, columns=ITER_COLUMNS, copy=False)
