"""Vectorised reading of big nanoGPT logs: a million lines in a fraction of a second.

A per-line Python loop spends ~2 µs per line just on regex and float(); a 1,000,000-line
log would take seconds. Nearly all lines of a big log are plain iteration lines, so:

1. find the lines with numpy (newline positions), in one piece of the file per core (numpy
   and Arrow release the GIL);
2. read the lines in the exact form ``iter N: loss X, time Yms, mfu Z%``: runs of lines with
   one layout (most of a big log) as a 2-D byte view whose digit columns become numbers by a
   matrix product; the rest through Arrow's CSV reader cut at spaces, words verified and
   numbers cast column-wise;
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
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from analyzer.parsers.nanogpt_rows import maybe_repeats, plain_rows
from analyzer.run import ITER_COLUMNS, ParseStats
from gptscope.schema import SCHEMA_VERSION

CHUNK_LINES = 1 << 16   # lines per vectorised chunk: bounds the temporary Arrow columns
MIN_PIECE = 4 << 20     # bytes: smaller files are not split across threads
_COLS = [f"c{i}" for i in range(8)]
_KEYS = ("step", "loss", "dt", "pct")


def line_bounds(buf: np.ndarray, cr: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of every line in a byte array (end excludes ``\\n`` and a
    ``\\r`` before it), the same lines ``_text.decode_lines`` gives. ``cr=False``: the
    caller knows there is no ``\\r``."""
    nl = _newlines(buf)
    n = len(nl) + (1 if len(buf) and buf[-1] != 10 else 0)  # no empty last line
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    if n:
        starts[0] = 0
        starts[1:] = nl[:n - 1] + 1
        ends[:len(nl)] = nl
        ends[len(nl):] = len(buf)
    if n and cr:
        at_cr = buf[np.maximum(ends - 1, 0)] == 13
        at_cr &= ends > starts
        if at_cr.any():
            ends[at_cr] -= 1
    return starts, ends


def _newlines(buf: np.ndarray, step: int = 1 << 20) -> np.ndarray:
    """Offsets of the newlines, found a cache-sized piece at a time (a file-sized boolean
    array would cost more in page faults than in comparisons)."""
    found, mark = [], np.empty(min(step, len(buf)), bool)
    for a in range(0, len(buf), step):
        piece = buf[a:a + step]
        is_nl = mark[:len(piece)]
        np.equal(piece, 10, out=is_nl)
        found.append(np.flatnonzero(is_nl) + a)
    return np.concatenate(found) if found else np.empty(0, np.int64)


def _pieces(data: Any, n: int, size: int) -> list[tuple[int, int]]:
    """[lo, hi) byte ranges of whole lines of data[:size], about size/n each."""
    cuts = [0]
    for i in range(1, n):
        nl = data.find(b"\n", max(cuts[-1], size * i // n), size)
        if nl < 0:
            break
        cuts.append(nl + 1)
    return [(lo, hi) for lo, hi in zip(cuts, cuts[1:] + [size]) if hi > lo]


def _extract(data: Any, lo: int, hi: int, threads: bool) -> dict[str, np.ndarray] | None:
    """Line bounds of data[lo:hi] and the step/loss/dt/mfu% columns of its lines in the
    exact current nanoGPT format (with their line indices); None if a line that looks like
    one cannot be read the same way as feed()."""
    buf = np.frombuffer(data, np.uint8, count=hi - lo, offset=lo)
    try:  # a plain log has no \r: then no line end needs a look
        cr = data.find(b"\r", lo, hi) >= 0
    except (AttributeError, TypeError):
        cr = True
    starts, ends = line_bounds(buf, cr)
    got = np.zeros(len(starts), bool)
    vals = {k: np.zeros(len(starts), np.int64 if k == "step" else np.float64) for k in _KEYS}
    _fixed_layouts(buf, starts, ends, got, vals)
    # what the fixed layouts did not read: the other lines that start like an iteration
    todo = np.flatnonzero((buf[np.maximum(ends - 1, 0)] == ord("%")) & ~got)
    if len(todo):
        lines = pa.Array.from_buffers(pa.large_binary(), len(starts),
                                      [None, pa.py_buffer(np.append(starts, len(buf))),
                                       pa.py_buffer(buf)])
    for a in range(0, len(todo), CHUNK_LINES):
        idx = todo[a:a + CHUNK_LINES]
        chunk = lines.take(pa.array(idx, pa.int64()))
        cand = pc.starts_with(chunk, b"iter ")
        mask = cand.to_numpy(zero_copy_only=False)
        if not mask.any():
            continue
        read = _read_tokens(pc.filter(chunk, cand), threads)
        if read is None:
            return None
        ok, cols = read
        rows = idx[mask][ok]
        got[rows] = True
        for k, v in zip(_KEYS, cols):
            vals[k][rows] = v[ok]
    line = np.flatnonzero(got)
    res = {"line": line, **{k: v[line] for k, v in vals.items()}}
    res["starts"], res["ends"] = (starts + lo, ends + lo) if lo else (starts, ends)
    return res


# Big logs repeat one layout for thousands of lines: 'iter 12345: loss 2.8123, time
# 450.12ms, mfu 30.00%' differs from its neighbours only in digits. Consecutive lines of the
# same length are then rows of a 2-D byte view; a row whose non-digit bytes equal the first
# line's and whose digit positions hold digits has its numbers at known columns.
_STD = re.compile(rb"iter (\d+): loss (\d+\.\d+), time (\d+\.\d+)ms, mfu (-?\d+\.\d+)%")
MIN_RUN = 64            # shorter runs of one layout are left to the CSV reader
_ROWS = 1 << 16         # rows per block of the 2-D view


def _fixed_layouts(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, got: np.ndarray,
                   vals: dict[str, np.ndarray]) -> None:
    """Read the runs of same-layout iteration lines (see above) into vals, marking got."""
    width = ends - starts
    join = np.zeros(len(starts), bool)  # same width as the line before, \n-separated
    join[1:] = (width[1:] == width[:-1]) & (starts[1:] - starts[:-1] == width[:-1] + 1)
    heads = np.flatnonzero(~join)
    sizes = np.diff(np.append(heads, len(starts)))
    long = sizes >= MIN_RUN
    layouts: dict[bytes, tuple | None] = {}  # a log has a few layouts, in hundreds of runs
    for first, n in zip(heads[long].tolist(), sizes[long].tolist()):
        start, w = int(starts[first]), int(width[first])
        text = buf[start:start + w].tobytes()
        key = text.translate(_ZERO_DIGITS)
        if key not in layouts:
            m = _STD.fullmatch(text)
            layouts[key] = None if m is None else _layout(m)
        if layouts[key] is not None:
            view = np.lib.stride_tricks.as_strided(buf[start:], shape=(n, w),
                                                   strides=(w + 1, 1), writeable=False)
            _read_layout(layouts[key], view, first, got, vals)


_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")


def _layout(m: re.Match) -> tuple:
    """Where a layout's digits are, what its other bytes are, and how the digits make
    its four numbers."""
    text = m.string
    row = np.frombuffer(text, np.uint8)
    is_digit = row - 48 < 10  # uint8: a byte below '0' wraps around
    digits = np.flatnonzero(is_digit)
    # column f of the weights turns field f's digits into its integer mantissa
    weights = np.zeros((len(digits), 4))
    scale, sign = [], []
    for f in range(4):
        a, b = m.span(f + 1)
        token = text[a:b]
        ds = np.flatnonzero((digits >= a) & (digits < b))
        weights[ds, f] = 10.0 ** np.arange(len(ds) - 1, -1, -1)
        scale.append(10.0 ** (len(token) - token.index(b".") - 1) if b"." in token else 1.0)
        sign.append(-1.0 if token.startswith(b"-") else 1.0)
    skeleton = np.flatnonzero(~is_digit)
    return digits, skeleton, row[skeleton], weights, scale, sign


def _read_layout(layout: tuple, view: np.ndarray, first: int, got: np.ndarray,
                 vals: dict[str, np.ndarray]) -> None:
    digits, skeleton, template, weights, scale, sign = layout
    for a in range(0, len(view), _ROWS):
        v = view[a:a + _ROWS]
        d = v[:, digits] - 48  # uint8: a byte below '0' wraps around, above 9 either way
        ok = (v[:, skeleton] == template).all(axis=1) & (d < 10).all(axis=1)
        if ok.all():
            rows: Any = slice(first + a, first + a + len(v))
        else:
            d, rows = d[ok], np.flatnonzero(ok) + first + a
        # integer mantissas are exact in float64, and mantissa / 10**k is correctly rounded,
        # i.e. exactly what float() gives for the printed decimal
        mant = d.astype(np.float64) @ weights
        got[rows] = True
        vals["step"][rows] = mant[:, 0].astype(np.int64)
        for f, key in enumerate(_KEYS[1:], start=1):
            vals[key][rows] = sign[f] * (mant[:, f] / scale[f])


def _iter_columns(data: Any, size: int) -> dict[str, np.ndarray] | None:
    """_extract over data[:size], in parallel pieces on a machine of 4 cores or more (numpy
    and Arrow release the GIL); line indices and offsets are for the whole file. On 2 cores
    one piece is faster and lighter: 0.257 s against 0.299 s for 2 pieces (best of 6, the
    1,000,000-line log) and 265 MB peak against 302 MB."""
    workers = min((os.cpu_count() or 1) // 2, 8, max(1, size // MIN_PIECE))
    pieces = _pieces(data, workers, size)
    if len(pieces) > 1:
        with ThreadPoolExecutor(len(pieces)) as pool:
            parts = list(pool.map(lambda r: _extract(data, r[0], r[1], False), pieces))
    else:
        parts = [_extract(data, lo, hi, True) for lo, hi in pieces]
    pa.default_memory_pool().release_unused()  # Arrow's temporaries, before the joins
    if not parts or any(p is None for p in parts):
        return None
    first = np.cumsum([0] + [len(p["starts"]) for p in parts[:-1]])
    for p, f in zip(parts, first):
        p["line"] += f
    if len(parts) == 1:
        return parts[0]
    # column by column, each part's piece let go once joined: never two copies of all
    return {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}


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


def read_into(builder: Any, data: Any, parser: Any, first_lineno: int = 1,
              final: bool = True) -> Any:
    """nanogpt.read_bulk (see the module docstring): the lines of ``data`` into ``builder``
    (an analyzer.run.RunBuilder), read with ``parser``, a fresh nanogpt Parser (this module
    does not import nanogpt). Returns the parser, in the state ``feed`` would have left it
    and sharing ``builder.stats``; None, with nothing added, when the file does not fit."""
    if isinstance(data, memoryview):  # the line search needs find()
        data = bytes(data)
    size = len(data) if final else data.rfind(b"\n") + 1  # only whole lines, unless final
    own_stats, parser.stats = parser.stats, ParseStats()  # builder.stats only on success
    read = _read(data, size, parser, first_lineno, final)
    parser.end_bulk()
    if read is None:
        parser.stats = own_stats
        return None
    events, cols, n = read
    builder.stats.absorb(parser.stats)
    parser.stats = builder.stats
    # the parser numbers its segments from 0: after what the builder holds, they go on
    cols["segment"] += builder.segment + (1 if builder.segments or builder.n_rows else 0)
    builder.add_events(events)
    builder.add_iter_columns(cols, n, layout={"run_id": parser.run_id, "v": SCHEMA_VERSION,
                                              "keys": ITER_KEYS}, own=True)
    pa.default_memory_pool().release_unused()  # give the temporary columns back to the OS
    return parser


# the keys of the parser's iter events, in order (a follower rebuilds events with them)
ITER_KEYS = ["type", "v", "run_id", "time", "step", "loss", "lr", "grad_norm", "dt_ms",
             "step_ms", "eval_inclusive", "tokens_per_s", "mfu", "mfu_smoothed"]


def _read(data: Any, size: int, parser: Any, first_lineno: int, final: bool
          ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray], int] | None:
    """(the events that are not plain iterations, the iteration columns, their length) of
    the lines in data[:size]."""
    cols = _iter_columns(data, size)
    if cols is None or not len(cols["line"]):
        return None
    line, step, loss, dt, pct = (cols[k] for k in ("line",) + _KEYS)
    step = step.astype(np.int64, copy=False)
    n = len(line)
    measured = pct >= 0
    elapsed = np.empty(n)  # the clock of the plain rows, filled as the parser moves over them
    walk = _Walk(data, parser, cols["starts"], cols["ends"], line, step, dt, elapsed)
    plain = plain_rows(line, step, loss, measured)
    plain &= ~maybe_repeats(step, loss, dt, pct, parser.REDRAW_WINDOW)
    if not walk.feed_others(plain, first_lineno):
        return None  # a line read by the columns that the parser reads otherwise
    if parser.gptscope_stdout:
        return None  # gptscope's stdout: its MFU needs the per-line reading (nanogpt._our_mfu)
    walk.advance_to(n)
    if walk.held >= 0:
        walk.dropped.append(walk.held)  # skipped at finish(), or still held for next feed()
    events = walk.events + (parser.finish() if final else [])
    runs, scalar_rows, dropped = walk.runs, walk.scalar_rows, walk.dropped
    parser.end_bulk()  # (its line source holds the walk, and the walk the file)
    del cols, walk  # free the line bounds before the big columns are built
    out = _final_columns(n, runs, scalar_rows, step, loss, dt, pct, measured, elapsed)
    if dropped:
        keep = np.ones(n, bool)
        keep[dropped] = False
        out = {k: v[keep] for k, v in out.items()}
        n = int(keep.sum())
    return events, out, n


class _Walk:
    """Every line that is not a plain iteration fed to the streaming parser, in file order,
    with the parser moved over the plain rows between them (``advance_to``)."""

    def __init__(self, data: Any, parser: Any, starts: np.ndarray, ends: np.ndarray,
                 line: np.ndarray, step: np.ndarray, dt: np.ndarray, elapsed: np.ndarray):
        self.data, self.parser = data, parser
        self.starts, self.ends, self.line = starts, ends, line
        self.step, self.dt, self.elapsed = step, dt, elapsed
        self.events: list[dict[str, Any]] = []
        self.scalar_rows: list[tuple[int, int, dict[str, Any]]] = []  # (row, segment, event)
        self.runs: list[tuple[int, int, int, Any, Any]] = []  # plain rows [a, b) and state
        self.dropped: list[int] = []   # rows of stray lines the parser skipped
        self.done = 0                  # rows the parser has been moved over or fed
        self.held, self.held_line = -1, 0  # the row and line number the parser holds

    def advance_to(self, k: int) -> None:
        """Move the parser over the plain rows [done, k)."""
        if k > self.done:
            last = _text(self.data, self.starts, self.ends, self.line[k - 1])
            _advance(self.parser, self.runs, self.done, k, self.step, self.dt, self.elapsed,
                     last, lambda: self.texts(max(0, k - self.parser.REDRAW_WINDOW), k))
            self.done = k

    def texts(self, a: int, b: int) -> list[str]:
        """The lines of iteration rows [a, b) (what a line stepping back is compared with)."""
        return [_text(self.data, self.starts, self.ends, i) for i in self.line[a:b].tolist()]

    def feed_others(self, plain: np.ndarray, first_lineno: int) -> bool:
        """Feed the lines that are not plain rows; False if the parser read one of them
        otherwise than the columns did."""
        line = self.line
        is_plain = np.zeros(len(self.starts), bool)
        is_plain[line[plain]] = True
        others = np.flatnonzero(~is_plain)
        first_row = np.searchsorted(line, others)  # the first iteration row at or after each
        is_row = line[np.minimum(first_row, len(line) - 1)] == others
        for li, k, is_iter, a, b in zip(others.tolist(), first_row.tolist(), is_row.tolist(),
                                        self.starts[others].tolist(),
                                        self.ends[others].tolist()):
            self.advance_to(k)
            text = self.data[a:b].decode("utf-8", errors="replace")
            if not self._feed(text, first_lineno + li, k if is_iter else -1):
                return False
        return True

    def _feed(self, text: str, lineno: int, row: int) -> bool:
        """One line (``row``: its iteration row, or -1) through the parser."""
        parser = self.parser
        seg = parser.segment
        its = []  # (segment, event): a held line and this one may open a segment each
        for ev in parser.feed([text], lineno):
            if ev["type"] in ("run_start", "resume"):
                seg += 1
            if ev["type"] == "iter":
                its.append((seg, ev))
            else:
                self.events.append(ev)
        # the rows these iteration events belong to: a line stepping back is held by the
        # parser until the next line (then read before it, or dropped as out of order)
        holding = parser.held_lineno
        cur = row >= 0 and holding != lineno          # this line gave its event now
        if cur and not its and self.held < 0:  # skipped: a repeat of an earlier line
            self._drop(row)
            self.done = row + 1
            return True
        rows = []
        if self.held >= 0 and holding != self.held_line:  # the held line was decided
            if len(its) - cur == 1:
                rows.append(self.held)
            else:
                self._drop(self.held)
            self.held = -1
        if cur:
            rows.append(row)
        elif row >= 0:
            self.held, self.held_line = row, lineno
        if len(its) != len(rows):
            return False
        self.scalar_rows += [(r, sg, ev) for r, (sg, ev) in zip(rows, its)]
        if row >= 0:
            self.done = row + 1
        return True

    def _drop(self, row: int) -> None:
        """A stray line the parser skipped (the clock never counted it)."""
        self.dropped.append(row)


def _text(data: Any, starts: np.ndarray, ends: np.ndarray, i: int) -> str:
    """Line i of the file, decoded as feed() gets it."""
    return bytes(data[int(starts[i]):int(ends[i])]).decode("utf-8", errors="replace")


def _advance(parser: Any, runs: list, a: int, b: int, step: np.ndarray, dt: np.ndarray,
             elapsed: np.ndarray, last_text: str, recent: Callable[[], list[str]]) -> None:
    """Move the parser over the plain iterations [a, b) as feed() would have (``last_text``:
    the last of those lines, which a duplicate line is compared with; ``recent``: the lines
    before, which a line stepping back is compared with), noting the state that their
    columns are computed from."""
    runs.append((a, b, parser.segment, parser.mfu_dt, parser.seg_header.tokens_per_iter))
    _clock(parser, a, b, step, dt, elapsed)
    parser.advance(b - a, int(step[b - 1]), float(elapsed[b - 1]), last_text,
                   last_ms=float(dt[b - 1]), recent=recent)


def _clock(parser: Any, a: int, b: int, step: np.ndarray, dt: np.ndarray,
           elapsed: np.ndarray) -> None:
    """elapsed[a:b]: the parser's clock moved over the plain rows [a, b) as
    ``StdoutParser.clock_step`` moves it (each row counts for the steps since the row before
    it), summed one row at a time from the parser's clock so the floats are its own."""
    span = np.empty(b - a, np.int64)
    last = parser.last_iter_step
    span[0] = step[a] - last if last is not None and step[a] > last else 1
    span[1:] = np.diff(step[a:b])  # plain rows step forward
    acc = np.empty(b - a + 1)
    acc[0] = parser.elapsed
    np.multiply(dt[a:b], span, out=acc[1:])
    acc[1:] /= 1000.0
    np.cumsum(acc, out=acc)
    elapsed[a:b] = acc[1:]


def _final_columns(n: int, runs: list, scalar_rows: list, step: np.ndarray,
                   loss: np.ndarray, dt: np.ndarray, pct: np.ndarray, measured: np.ndarray,
                   elapsed: np.ndarray) -> dict[str, np.ndarray]:
    """The iteration columns: plain rows computed from their run's parser state exactly as
    Parser._iter does, the parser's own rows copied from its events. Columns no row has a
    value in are left out (the builder shows them as missing without storing them)."""
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
                            "dt_ms": dt, "tokens_per_s": tps, "mfu": mfu,
                            "mfu_smoothed": smoothed}
    for row, s, ev in scalar_rows:
        cols["segment"][row] = s
        for key in ITER_COLUMNS[2:]:
            value = ev.get(key)
            if key not in cols:
                if value is None or value is False:
                    continue  # missing: the column may stay unheld
                cols[key] = np.zeros(n, bool) if key == "eval_inclusive" else np.full(n, np.nan)
            cols[key][row] = (bool(value) if key == "eval_inclusive"
                              else np.nan if value is None else value)
    return cols
