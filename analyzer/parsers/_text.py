"""Line clean-up shared by the stdout-log parsers: real logs are messy.

What reaches a parser is what a person saw on a terminal, saved through ``tee``, a
scheduler's output file or a paste into a README: ``\\r``-joined progress bars, ANSI colour
codes, timestamp and ``> `` quote prefixes, elision marks, warnings and tracebacks between
the lines that matter, and bytes that are not UTF-8. ``clean_line`` removes the decoration
so that each parser's patterns only describe its own format. Pure functions, no state.
"""
from __future__ import annotations

import ast
import calendar
import math
import re
from typing import Any, Iterator

# No line of any format is this long (the longest in the real samples is a 645-character
# warning). A longer line is read by its first MAX_LINE characters: hostile input cannot make
# a pattern that backtracks on long runs (of spaces, of word characters) take long.
MAX_LINE = 1000
# CSI sequences (colours, cursor moves) and OSC sequences (terminal titles, links).
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# '2023-01-01 12:00:00 ', '[2023-01-01T12:00:00.123Z] ', '2026-02-01 20:37:26,202 - ',
# '[2024-04-02 01:59:46][INFO]...' (a bracketed stamp may be followed by the next bracket)
# '10/21/2024 18:23:05 - ' (Hugging Face's example scripts: '%m/%d/%Y %H:%M:%S')
# 'Time: 2023-12-11 16:39:18, Epoch: 0, Step: 5, …' (DeepSpeed-Chat's labelled stamp)
# ... and rich's default '[02/04/26 16:01:45] INFO     message' (a two-digit year, the level
# padded), and nanotron's '12/21 01:39:51 [INFO|...' (month and day, no year), and
# detectron2's logger (LiBai's too), the logger's name inside the stamp's bracket:
# '[09/19 14:39:40 lb.utils.events]:  eta: 22:07:15  iteration: 87/18660  total_loss: …'
_DATE = r"(?:\d{4}-\d\d-\d\d|\d\d/\d\d/\d{4}|\d\d/\d\d/\d\d|\d\d/\d\d)[ T]"  # every stamp
_LEVEL = r"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)"
# (OpenNMT-py's level inside the stamp's bracket: '[2018-11-26 14:47:26,759 INFO] ')
_TIMESTAMP = re.compile(r"(?:Time:\s*)?\[?" + _DATE + r"\d\d:\d\d:\d\d"
                        r"(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
                        r"(?:\](?=\[)|\s+[\w.]+\]:\s*|\s+" + _LEVEL + r"\]\s*|"
                        r"\]?(?:\s+-\s+|\s*\|\s*|,\s+|\s+|$))")
# Python's logging after the timestamp, in the formats people configure: 'name - LEVEL - ',
# 'LEVEL - name -   ' (Hugging Face's scripts),
# 'LEVEL - ' (only after a timestamp: alone it may be a message), '[LEVEL][module:line] - ' (ezpz,
# wordplay; '[I][wordplay/trainer:850] ', its level a letter; ezpz's torchtitan
# '[I][components/metrics:437:log] ', with the function), 'LEVEL     | module:fn:12 - '
# (loguru), and basicConfig's default 'LEVEL:name:' (which has no timestamp at all); Hydra's
# '[name][LEVEL] - ' (or '[pretrain.py][INFO] ') after its bracketed stamp, nanotron's
# '[INFO|DP=0|PP=0|TP=0]: ' (newer ones add the host: '[INFO|DP=0|TP=0|lrdn0007]: '), and a
# rank tag after any of them ('[RANK 0] '); PaddleNLP pads its level: '[    INFO] - ';
# InternLM's 'LEVEL file.py:317 in function -- ', with no timestamp
_LOGGING = re.compile(r"(?:\[[\w.]+\]\[" + _LEVEL + r"\](?: - | )|"
                      r"\[" + _LEVEL + r"(?:\|[A-Z]+=\d+)+(?:\|[\w.-]+)?\]: |"
                      r"[\w.]+ - " + _LEVEL + r" - |" + _LEVEL + r" - [\w.]+ - +|(?:\[ *" + _LEVEL
                      + r"\]|\[[DIWEC]\](?=\[))(?:\[[\w./<>-]+(?::\d+(?::\w+)?)?\])?"
                      r"(?:\s+-\s+|\s*)|" + _LEVEL + r"\s*\|\s*[\w.<>-]+(?::[\w.<>-]+)*:\d+ - |"
                      + _LEVEL + r":[\w.<>-]+:|" + _LEVEL + r" [\w.-]+\.py:\d+ in [\w<>]+ -- )"
                      r"(?:\[RANK \d+\] )?")
_LEVEL_DASH = re.compile(r"(?:[\w.-]+:\d+[ \t]+[\w.]+:\d+[ \t]+)?" + _LEVEL
                         + r"(?: \| [\w.]+ \| | +\[[\w.]+:\d+, rank=\d+\] | - |: | {2,}|\t|"
                         r" (?=\S))")  # after a stamp: OLMo's "INFO     [olmo.train:816, rank=0] ",
# fairseq's "INFO | fairseq.trainer | ", OLMo's "host:0  olmo.train:908  INFO    " (its host and
# rank, then the module and line; OLMo-core separates them with tabs), "INFO - ",
# "INFO: ", rich's "INFO     ", "INFO "
# glog (C++ trainers: InfiniTrain, ...): 'E20260315 22:09:46.334327 140220588404736 main.cc:386] '
# (the classic form has no year: 'I0315 22:09:46.334327 ...')
# torchrun's '[rank0]:' before each line of a worker's output (a traceback, a warning)
# ... and the rank a DDP script prints before its own lines ('GPU/rank 0 step 500: train
# loss 1.6010, ...' in AMD's ROCm blog; 'rank 1: iter 10: ...', '[Rank 0] step 3 | ...', the
# PyTorch DDP pipeline tutorial's '[RANK 0]: | epoch   1 | …')
# (never build-nanogpt's own 'rank 0 sample 1: ...', which its parser reads)
# ... and torchrun's '--tee' prefix of a local rank's lines ('[default3]: iteration 10/ ...')
# ... and a launcher's host and rank ('[lrdn3321:3]: ', a Megatron run on Leonardo)
_RANK = re.compile(r"\[rank\d+\]: ?|(?:GPU/[Rr]ank ?\d+ +|[Rr]ank ?\d+: +)(?=\S)|"
                   r"\[(?:[Rr]ank|RANK) ?\d+\]:? ?|\[default\d+\]: ?|\[[A-Za-z][\w.-]*:\d+\]: ")
_GLOG = re.compile(r"[IWEF]\d{4}(?:\d{4})? \d\d:\d\d:\d\d\.\d+\s+\d+\s+[\w./<>-]+:\d+\] ?")
# a tqdm bar glued before a log line (the bar ends without a newline, the logger writes on):
# ' 9%|▉         | 9/100 [00:05<00:19,  4.61it/s]', with an optional 'desc: ' before it
_TQDM = re.compile(r"\s*(?:[\w ./-]{1,40}: ?)?\d{1,3}%\|[^|]{0,100}\|\s*\d+/\d+\s*"
                   r"\[[^\]]{0,80}\]")
# a line that starts with a letter or a space may still carry a prefix: a level, a bar
_LEVEL_START = re.compile(_LEVEL + r"[:\s|]")
# ... and the HTML a paste in an issue's <details> block may be glued to ('<code>iter 1 step 0:')
_QUOTE = re.compile(r">(?: |$)|(?:</?(?:code|pre|samp|br)\s*/?>)+")
# '...', '… …', '[…]', '[...]', '... (truncated) ...', '(...)'
_DOTS = r"[\[(]?(?:\.{3,}|…)[\])]?"
_ELISION = re.compile(_DOTS + r"(?:\s*\(?[a-z ]*\)?\s*" + _DOTS + ")*")
_TRIPLE_QUOTES = ("\'\'\'", '"""')
_PLAIN = re.compile(r"[A-Za-z ]")  # a line starting like this needs no prefix stripping
_INDENTED_STAMP = re.compile(r" +(?:Time: *)?\[?\d\d[-/]?\d\d[-/ ]")  # (_TIMESTAMP decides)
_INDENTED_RANK = re.compile(r" +\[rank\d+\]:")  # a notebook's indented torchrun output
# a program's tag before its logging timestamp (torchtitan: '[titan] 2025-10-30 14:32:58,897
# - root - INFO - step:  1  loss: ...'): cut only where a timestamp follows it
# Ray's prefix of a worker's output ('(run_maxtext_train pid=78967, ip=10.130.0.11) ', '(pid=4242) ',
# Ray Train's '(RayTrainWorker pid=1234) ') and its '[repeated 9x across cluster]' after a
# line it printed once for several workers
_RAY = re.compile(r"\((?:[\w.-]+ )?pid=\d+(?:, ip=[\d.]+)?\) ")
_RAY_REPEATED = re.compile(r"\s*\[repeated \d+x across cluster\]$")
# Metaflow's task after its stamp: '[1761840227122170/train_model/4 (pid 79246)] '
_METAFLOW = re.compile(r"\[\d+/[\w.-]+/\d+ \(pid \d+\)\] ")
_TAG_STAMP = re.compile(r"\[[\w.-]{1,20}\] (?=\[?" + _DATE + ")")


def split_lines(data: bytes | bytearray | memoryview) -> list[str]:
    """Decode (UTF-8, bad bytes replaced) and split on \\n; a \\r before it is dropped. The
    text after a final \\n is kept (an empty last item): see ``decode_lines``."""
    text = bytes(data).decode("utf-8", errors="replace")
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def byte_blocks(data: Any, size: int, end: int | None = None) -> Iterator[bytes]:
    """data[:end] (bytes, bytearray or mmap; default: all of it) in blocks of about ``size``
    bytes cut after a newline (a line longer than a block makes its block longer). Each
    block is a copy: a file mapped in memory is read a block at a time, never held whole a
    second time."""
    end = len(data) if end is None else end
    start = 0
    # slicing a bytearray copies, and bytes() again: a view's slice is copied once. The view
    # is let go when the blocks end (a bytearray with a view on it cannot be resized)
    with memoryview(data) as view:
        while start < end:
            stop = min(start + size, end)
            if stop < end:
                cut = data.rfind(b"\n", start, stop)
                stop = cut + 1 if cut >= 0 else data.find(b"\n", stop, end) + 1 or end
            yield bytes(view[start:stop])
            start = stop


def decode_lines(data: bytes) -> list[str]:
    """Split raw file bytes into text lines, the way every parser expects them.

    Bytes that are not UTF-8 become U+FFFD (a log is never rejected for its encoding). Lines
    are split on ``\\n`` only, and lose the ``\\n`` and a ``\\r`` just before it; a ``\\r``
    inside a line (a progress bar) is kept for ``clean_line``. A final line without ``\\n``
    is returned too: callers following a growing file hold it back themselves.
    """
    lines = split_lines(data)
    if data[-1:] in (b"\n", b""):
        lines.pop()  # the empty text after the last newline (or of no bytes) is not a line
    return lines


def clean_line(line: str) -> str:
    """The text of a line as a terminal would finally show it, without decoration.

    - ``\\r`` progress: only the last non-empty ``\\r``-separated part is kept (what stayed
      on screen); ``evaluating 10/1256\\revaluating 20/1256\\rHellaSwag: ...`` gives the result;
      a literal ``^M`` (a carriage return as ``cat -v`` shows it, pasted) is one too;
    - ANSI escape sequences are removed;
    - a markdown inline-code backtick around the line, leading ``> `` quote marks,
      timestamps (indented ones too) and Python-logging prefixes (``name - LEVEL - ``,
      ``[LEVEL][module:12] - ``, ``LEVEL:name:`` ...) are removed (in any order, e.g. a
      quoted timestamped line), a rank prefix (``[rank0]:``, ``GPU/rank 1 ``), a glog prefix
      (``I0315 22:09:46.334327 1402 main.cc:386] ``), and a tqdm bar that a log line was
      written right after;
    - trailing whitespace is removed; leading whitespace is kept (tracebacks need it).
    """
    if "^M" in line:  # a carriage return as a pager or `cat -v` shows it, pasted as text
        line = line.replace("^M", "\r")
    if "\r" in line:
        parts = [p for p in line.split("\r") if p.strip()]
        line = parts[-1] if parts else ""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if line and (not _PLAIN.match(line) or _may_be_prefixed(line)):
        line = _strip_prefixes(line)
    return line.rstrip()


def logged_as_note(line: str) -> bool:
    """A raw line with glog's warning or info prefix ('W0728 15:54:54.664000 1326 x.py:824] '):
    what a program logs and goes on from (torch.compile's 'WON'T CONVERT' warning prints a
    whole traceback so) is never the error that ended it."""
    return line[:1] in ("W", "I") and line[1:2].isdigit() and _GLOG.match(line) is not None


def _may_be_prefixed(line: str) -> bool:
    """A cheap test (most lines of a big log start with a letter) for a logging level or a
    tqdm bar at the start of a line that starts with a letter or a space."""
    return ((line[0] in "DIWEC" and _LEVEL_START.match(line) is not None) or "%|" in line[:60]
            or line.startswith("Time: ")
            or (line[0] == " " and (_INDENTED_STAMP.match(line) is not None
                                    or _INDENTED_RANK.match(line) is not None))
            or (line[0] in " '\"" and line.lstrip(" ")[:3] in _TRIPLE_QUOTES)
            or (line[0] in "GRr" and _RANK.match(line) is not None)
            or (line[0] in "IWEF" and line[1:2].isdigit() and _GLOG.match(line) is not None))


def _strip_prefixes(line: str) -> str:
    line = line.lstrip("\ufeff")  # a byte-order mark at the start of a file
    if line[:1] in " '\"" and line.lstrip(" ")[:3] in _TRIPLE_QUOTES:  # a log pasted into
        line = line.lstrip(" ")[3:]  # a Python string: its opening quotes glued to its first line
    if line[:1] == "`" and line[1:2] != "`":  # a pasted line in markdown's inline code
        line = line[1:-1] if line.endswith("`") and len(line) > 1 else line[1:]
    if line[:1] == "(" and (m := _RAY.match(line)) is not None:
        line = _RAY_REPEATED.sub("", line[m.end():])
    if line[:1] in "[GRr":  # torchrun's rank prefix of a worker's output, or a script's
        m = _RANK.match(line)
        line = line[m.end():] if m is not None else line
    elif line[:1] == " " and (m := _INDENTED_RANK.match(line)) is not None:
        line = line[m.end():]
    m = _TQDM.match(line)
    if m is not None and line[m.end():].strip():  # a bar alone stays (hf_trainer reads it)
        line = line[m.end():]
    m = _GLOG.match(line)
    if m is not None:
        return line[m.end():]
    stamped = False
    if line[:1] == " " and _INDENTED_STAMP.match(line):  # a notebook's indented output
        m = _TIMESTAMP.match(line, len(line) - len(line.lstrip(" ")))
        if m is not None:
            line, stamped = line[m.end():], True
    for _ in range(4):  # '> 2023-01-01 12:00:00 > iter 1: ...' at most a few layers deep
        m = _QUOTE.match(line) or (_TAG_STAMP.match(line) if line[:1] == "[" else None)
        if m is None:
            m = _TIMESTAMP.match(line)
            stamped = stamped or m is not None
        if m is None:
            break
        line = line[m.end():]
    m = _LOGGING.match(line) or ((_LEVEL_DASH.match(line) or _METAFLOW.match(line))
                                 if stamped else None)
    return line[m.end():] if m else line


# the date and time of a line's leading timestamp (as _TIMESTAMP strips it), after the
# decoration a paste may put before it: indentation, '> ' quotes, a backtick
_STAMP_AT = re.compile(r"[\s>`]*(?:\[rank\d+\]: ?)?(?:\[[\w.-]{1,20}\] )?(?:Time:\s*)?\[?"
                       r"(?:(\d{4})-(\d\d)-(\d\d)|(\d\d)/(\d\d)/(\d{4}))[ T]"
                       r"(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?")


def line_stamp(raw: str) -> tuple[float, float] | None:
    """A raw line's leading timestamp as (seconds, resolution in seconds): '2026-05-27
    00:56:11,576 - INFO - ...' -> (its seconds since 1970 read as UTC, 0.001); a stamp
    without fractional seconds has a resolution of 1 s. None without one. The zone is
    ignored: one log's stamps share it, and only their differences are used."""
    m = _STAMP_AT.match(raw)
    if m is None:
        return None
    g = m.groups()
    year, month, day = (g[0], g[1], g[2]) if g[0] else (g[5], g[3], g[4])
    try:
        seconds = calendar.timegm((int(year), int(month), int(day), int(g[6]), int(g[7]),
                                   int(g[8]), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    frac = g[9] or ""
    return (seconds + (int(frac) / 10 ** len(frac) if frac else 0.0),
            10.0 ** -len(frac) if frac else 1.0)


def is_elision(text: str) -> bool:
    """An ellipsis line a person put in a pasted log to mark cut lines: '...', '[…]'."""
    t = text.strip()
    # marks are short; the length check also bounds the pattern's backtracking on junk
    return bool(t) and len(t) <= 60 and _ELISION.fullmatch(t) is not None


# one comma and no dot, not a thousands group of 3 digits: a decimal comma (a German or
# French Windows locale: 'train loss 4,677650'); '4,677' stays 4677 (it reads both ways)
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,(?:\d{1,2}|\d{4,})")


def to_float(text: str | None) -> float | None:
    """A printed number as float: '1,234.5' -> 1234.5, '4,677650' -> 4.67765 (a decimal
    comma), 'nan' -> nan, '' or junk -> None."""
    if text is None:
        return None
    try:
        if "," in text and _DECIMAL_COMMA.fullmatch(text):
            return float(text.replace(",", "."))
        return float(text.replace(",", ""))
    except ValueError:
        return None


def to_int(text: str | None) -> int | None:
    """A printed integer: '16,384' -> 16384, '00042' -> 42; junk -> None."""
    if text is None:
        return None
    try:
        return int(text.replace(",", ""))
    except ValueError:
        return None


def finite(x: float | None) -> float | None:
    """x if it is a finite number, else None (what the schema stores for 'not a value')."""
    return x if x is not None and math.isfinite(x) else None


def nonfinite_name(x: float | None) -> str | None:
    """'nan', 'inf' or '-inf' for a non-finite float (the anomaly event's value), else None."""
    if x is None or math.isfinite(x):
        return None
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def literal(text: str) -> Any:
    """A config value as printed in a Python config file or a 'key: value' dump.

    Literals ('1e-3', 'True', "'cuda'") become their value, read with ast.literal_eval
    (never eval: a config may hold expressions like ``__import__('torch')...``); anything
    else stays the text itself. A trailing ``# comment`` is dropped.
    """
    text = text.strip()
    for candidate in (text, text.split(" #", 1)[0].split("\t#", 1)[0].strip()):
        try:
            value = ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float, bool))
                                                    for v in value):
            return list(value)
        return candidate
    return text.split(" #", 1)[0].strip()


# (the key ends in a non-space and one \s* takes the spaces before the number: a pattern
# where several quantifiers could share a run of spaces backtracks cubically on long runs)
_NUM = r"(?P<num>[-+]?(?:nan|inf|(?:\d[\d,]*)?\.?\d+(?:[eE][-+]?\d+)?))"
_FIELD = re.compile(r"(?P<key>[A-Za-z](?:[\w/ .-]*?[\w/.-])?)?\s*(?:[:=]\s*)?\(?" + _NUM +
                    r"(?P<unit>.*)$", re.IGNORECASE)
# a label with its colon: the whole label, digits in it too ('bf16_mfu: 2.74', not 'bf' 16)
_LABELLED = re.compile(r"(?P<key>[A-Za-z][\w/ .-]*?)\s*[:=]\s*\(?" + _NUM + r"(?P<unit>.*)$",
                       re.IGNORECASE)


def pipe_fields(text: str) -> dict[str, tuple[float | None, str]]:
    """'loss: 2.5 | lr 6e-4 | dt: 410.25ms | 31.9% bf16 MFU' -> {key: (number, unit)}.

    The ``a | b | c`` layout of build-nanogpt, llm.c and nanochat step lines. A part without
    a leading name is keyed by its unit ('ms', '% bf16 MFU', 'tok/s'); the number is None when
    the part has none (a line cut short).
    """
    out: dict[str, tuple[float | None, str]] = {}
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        m = _LABELLED.match(part) or _FIELD.match(part)
        if m is None and ":" in part:  # a label before the field: 'elapsed_time: dt=465.2ms'
            m = _FIELD.match(part.split(":", 1)[1].strip())
        if m is None:
            out[part.rstrip(":").strip().lower()] = (None, "")
            continue
        unit = m.group("unit").strip()
        key = (m.group("key") or unit).strip().lower()
        out.setdefault(key, (to_float(m.group("num")), unit))
    return out


_EXPONENT = re.compile(r"[eE][-+]?\d{1,3}")


def spaced_exponent(field: tuple[float | None, str] | None) -> float | None:
    """The number of a ``pipe_fields`` field whose exponent was typed after a space ('lr
    6.0001 e-05', a retyped log): the unit is then the exponent alone, and nothing else is."""
    if field is None or field[0] is None:
        return None
    unit = field[1].strip()
    if _EXPONENT.fullmatch(unit):
        return to_float(f"{field[0]!r}{unit}")
    return field[0]


def ms(field: tuple[float | None, str] | None) -> float | None:
    """A time field of ``pipe_fields`` in milliseconds: '410.25ms' -> 410.25, '1.5s' ->
    1500.0. A number without its unit is a line cut short in that field (a log that ends
    mid-line: 'dt: 410'), so it is no value: only the cut field is dropped."""
    if field is None or field[0] is None:
        return None
    unit = field[1].strip().lower()
    if unit.startswith("ms"):
        return field[0]
    if unit[:1] == "s" and not unit.startswith("st"):
        return field[0] * 1000.0
    return None


def unitless_ms(num: float | None, tokens: int | None, tps: float | None) -> float | None:
    """A step time printed without its unit ('dt: 12701.84 | tok/sec: 41276.54'), in ms: the
    unit is the one (ms or s) that agrees, within 2x, with the step's tokens over its
    throughput. A fork that drops the 'ms' still prints ms, but only the check proves it;
    without tokens per step and a throughput there is no time."""
    if num is None or not tokens or not tps or tps <= 0:
        return None
    expected = tokens / tps * 1000.0
    for value in (num, num * 1000.0):
        if 0.5 <= value / expected <= 2.0:
            return value
    return None
