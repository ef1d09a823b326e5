"""Hypothesis settings, counters and input strategies shared by the fuzz tests
(tests/analyzer/test_fuzz_parsers.py, tests/analyzer/test_fuzz_jsonl.py) and by
benchmarks/fuzz_long.py.

Two profiles, chosen with $GPTSCOPE_FUZZ_PROFILE so that the other hypothesis tests of the
suite keep their own settings:

- ``ci`` (default): a few hundred examples per property, what CI runs;
- ``long``: ten times more, for ``python benchmarks/fuzz_long.py``.

No example database: tests never write into the repository. ``COUNTS`` records how many
examples each property really ran (and how many original events the recovery properties
got back), which is what the benchmark prints.
"""
from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = {"ci": 200, "long": 2000}
PROFILE = os.environ.get("GPTSCOPE_FUZZ_PROFILE", "ci")
if PROFILE not in EXAMPLES:
    raise ValueError(f"GPTSCOPE_FUZZ_PROFILE must be one of {sorted(EXAMPLES)}, got {PROFILE!r}")
if os.environ.get("GPTSCOPE_FUZZ_EXAMPLES"):  # benchmarks/fuzz_long.py --examples N
    EXAMPLES[PROFILE] = int(os.environ["GPTSCOPE_FUZZ_EXAMPLES"])
COUNTS: Counter = Counter()

# A generous bound on the time one example may take (the machine may be busy): a parser
# that hangs or goes quadratic on a hostile line blows through it.
MAX_SECONDS = 5.0


def fuzz(scale: float = 1.0) -> settings:
    """Settings for one property: the profile's example count times ``scale``."""
    return settings(max_examples=max(10, int(EXAMPLES[PROFILE] * scale)), deadline=None,
                    database=None, derandomize=PROFILE == "ci",
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


def count(name: str, n: int = 1) -> None:
    COUNTS[name] += n


class Timer:
    """``with Timer(): ...`` fails when the block takes longer than MAX_SECONDS."""

    def __enter__(self) -> "Timer":
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        if exc[0] is None:
            assert self.seconds < MAX_SECONDS, f"took {self.seconds:.1f}s"


# ------------------------------------------------------------------------------ real lines

REALDATA = Path(os.environ.get("GPTSCOPE_REALDATA",
                               Path(__file__).resolve().parents[1] / "data/realdata"))
FOLDERS = {"nanogpt": "nanogpt", "buildnanogpt": "build-nanogpt", "llmc": "llmc",
           "modded": "modded-nanogpt", "nanochat": "nanochat"}

# Lines in each format's shape (formats are facts), used when the real logs are absent.
_FALLBACK = {
    "nanogpt": ["tokens per iteration will be: 16,384", "number of parameters: 10.65M",
                "step 0: train loss 4.2874, val loss 4.2823",
                "saving checkpoint to out-shakespeare-char",
                "iter 0: loss 4.2649, time 3514.20ms, mfu -100.00%",
                "iter 10: loss 3.1455, time 12.84ms, mfu 29.12%"],
    "buildnanogpt": ["total desired batch size: 524288", "=> calculated gradient "
                     "accumulation steps: 32", "validation loss: 10.9502",
                     "HellaSwag accuracy: 2534/10042=0.2523",
                     "step     0 | loss: 10.955029 | lr 8.3916e-07 | norm: 15.4008 | "
                     "dt: 23517.06ms | tok/sec: 22293.93"],
    "llmc": ["| num_layers L          | 12                                                 |",
             "val loss 11.009454",
             "step    1/19560 | train loss 11.010548 | norm 15.0911 | lr 8.57e-07 | "
             "381.45 ms | -100.0% bf16 MFU | 1374456 tok/s", "HellaSwag: 2493/10042 = 0.248257",
             "total average iteration time: 381.262744 ms"],
    "modded": ["step:0/3000 val_loss:10.8258 train_time:0ms step_avg:nanms",
               "step:1/3000 train_loss:10.8258 train_time:24179ms step_avg:nanms",
               "step:125/3000 val_loss:4.3652 train_time:28590ms step_avg:244.36ms",
               "peak memory consumption: 30893 MiB"],
    "nanochat": ["Vocab size: 65,536", "Number of parameters: 1,384,124,416",
                 "step 00000/16704 (0.00%) | loss: 10.397639 | lrm: 1.00 | dt: 4286.44ms | "
                 "tok/sec: 122,315 | mfu: 2.32 | total time: 0.00m",
                 "Step 00250 | Validation bpb: 1.086329", "Step 03000 | CORE metric: 0.1697"],
}


def real_lines(fmt: str, limit: int = 4000) -> list[bytes]:
    """Lines of the real logs of a format (every header line and a spread of the rest), or
    the fallback lines above when the samples are not on this machine."""
    folder = REALDATA / FOLDERS.get(fmt, fmt)
    out: list[bytes] = []
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            lines = path.read_bytes().split(b"\n")
            step = max(1, len(lines) // 400)
            out += lines[:200] + lines[200::step]
    return out[:limit] or [s.encode() for s in _FALLBACK[fmt]]


def real_logs(fmt: str) -> list[bytes]:
    """The real log files of a format (bytes), smallest first; fallback: one made-up log."""
    folder = REALDATA / FOLDERS.get(fmt, fmt)
    if folder.is_dir():
        files = sorted(folder.iterdir(), key=lambda p: p.stat().st_size)
        return [p.read_bytes() for p in files]
    return ["\n".join(_FALLBACK[fmt]).encode() + b"\n"]


# ------------------------------------------------------------------------------ strategies

NUMBERS = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999", "-1e999", "1e-400", "-1",
           "-0", "0", "007", "9" * 30, "-" + "9" * 30, "1e308", "4.2e", "1,2,3", "0x1F", "١٢"]
_NUMBER = re.compile(rb"-?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?")
ENCODINGS = ["latin-1", "utf-16", "utf-16-le", "cp1252", "utf-32", "shift_jis"]


def _recode(line: bytes, encoding: str) -> bytes:
    text = line.decode("utf-8", errors="replace") + " é ü ß ¿ 漢字"
    return text.encode(encoding, errors="replace")


@st.composite
def mutated(draw, lines: list[bytes]) -> bytes:
    """One real line, damaged the way logs get damaged."""
    line = draw(st.sampled_from(lines))
    how = draw(st.sampled_from(["keep", "cut", "splice", "nul", "numbers", "encoding", "huge",
                                "crlf", "cr", "junk", "repeat"]))
    if how == "cut":
        return line[:draw(st.integers(0, len(line)))]
    if how == "splice":
        other = draw(st.sampled_from(lines))
        return line[:draw(st.integers(0, len(line)))] + other[draw(st.integers(0, len(other))):]
    if how == "nul":
        at = draw(st.integers(0, len(line)))
        return line[:at] + b"\0" * draw(st.integers(1, 40)) + line[at:]
    if how == "numbers":
        subs = draw(st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=8))
        it = iter(subs * 20)
        return _NUMBER.sub(lambda m: next(it, "0").encode(), line)
    if how == "encoding":
        return _recode(line, draw(st.sampled_from(ENCODINGS)))
    if how == "huge":
        return line * draw(st.integers(50, 400)) + b"x" * draw(st.integers(0, 300_000))
    if how == "crlf":
        return line + b"\r"
    if how == "cr":
        return line + b"\r" + draw(st.sampled_from(lines))
    if how == "junk":
        return draw(st.binary(max_size=200)).replace(b"\n", b"")
    if how == "repeat":
        return line + b"\n" + line
    return line


def log_bytes(lines: list[bytes], max_lines: int = 60) -> st.SearchStrategy[bytes]:
    """A damaged log: real lines (some damaged), random bytes, and line ends of every kind."""
    piece = st.one_of(mutated(lines), st.binary(max_size=300))
    ends = st.sampled_from([b"\n", b"\r\n", b"\n", b"\r", b""])
    return st.lists(st.tuples(piece, ends), max_size=max_lines).map(
        lambda parts: b"".join(p + e for p, e in parts))


# Garbage: lines that are not text (they hold a NUL or another control byte, as binary
# junk, a crash's NUL padding or a UTF-16 line do). Parsers skip and count such a line
# without letting it touch anything around it, so no event may change.
def _no_breaks(b: bytes) -> bytes:
    return b.replace(b"\n", b"").replace(b"\r", b"").replace(b"\x1b", b"")  # no ANSI


GARBAGE = st.one_of(
    st.binary(max_size=300).map(lambda b: b"\0" + _no_breaks(b)),
    st.tuples(st.binary(max_size=200), st.sampled_from(b"\x00\x01\x02\x08\x0b\x1a\x1f"),
              st.binary(max_size=100)).map(
        lambda t: b"\xff\xfe" + _no_breaks(t[0]) + bytes([t[1]]) + _no_breaks(t[2])),
    st.sampled_from(["iter 5: loss 2.0000, time 9.00ms, mfu 1.00%", "step 3 | loss 1.0",
                     '{"type":"iter","v":1}', "Traceback (most recent call last):"]).map(
        lambda t: _no_breaks(t.encode("utf-16-le"))),
    st.sampled_from([b"\0" * 4096, b"\x89PNG\x1a\0\0\0IHDR", b"\xff" * 70_000 + b"\0",
                     b"\0{\"type\":\"iter\"", b"\xef\xbf\xbe\0\x01\x02"]),
)
