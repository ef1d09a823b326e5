"""``load(path) -> Run``: read any supported log, its format detected from its content (the
Run is built by analyzer.run.RunBuilder, as the ``Follower`` builds it)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator, Sequence


from analyzer import parsers as registry
from analyzer.parsers._text import byte_blocks, decode_lines, split_lines
from analyzer.run import Run, RunBuilder

EVENTS_FILE = "events.jsonl"  # what a run directory holds
_BLOCK = 8 << 20              # bytes handed to a streaming parser at a time
_HEAD = 4 << 20               # bytes read for detection


class LoadError(Exception):
    """A file cannot be read as a run. ``str()`` is one line naming the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


class UnknownFormat(LoadError):
    """No parser recognises the file; ``tried`` lists the formats that were tried."""

    def __init__(self, path: str | os.PathLike, tried: Sequence[str]):
        self.tried = list(tried)
        super().__init__(path, "not a training log in a known format (tried: "
                         + ", ".join(self.tried) + ")")


# -- reading files -------------------------------------------------------------------------

def resolve(path: str | os.PathLike) -> Path:
    """The log file a path names: a run directory stands for its events.jsonl."""
    p = Path(path)
    if p.is_dir():
        if not (p / EVENTS_FILE).is_file():
            raise LoadError(p, f"a directory without {EVENTS_FILE}")
        p = p / EVENTS_FILE
    if not p.exists():
        raise LoadError(p, "no such file")
    if not p.is_file():
        raise LoadError(p, "not a regular file")
    return p


_NUL_BLOCK = re.compile(b"\0{16,}")


def looks_binary(head: bytes) -> bool:
    """Mostly not text in the first kilobytes: NUL bytes all through it (a binary file, UTF-16
    text) or mostly undecodable bytes. A few damaged lines are not enough (parsers skip and
    count them), nor is a block of NULs: a crash (a power cut on a filesystem with delayed
    allocation) pads a log with them, and the lines around them are still a log."""
    head = head[:8192]
    if b"\0" in head:
        head = _NUL_BLOCK.sub(b"", head)
        damaged = sum(len(line) + 1 for line in head.split(b"\n") if b"\0" in line)
        if not head.strip() or damaged > len(head) // 4:
            return True
    text = head.decode("utf-8", errors="replace")
    return len(text) > 64 and text.count("\ufffd") > len(text) // 4


def head_lines(data: Any, size: int, limit: int, complete: bool = True) -> list[str]:
    """The first ``limit`` lines in the first ``size`` bytes of a file (``data``: the file's
    bytes, or with ``complete=False`` only its first ones), decoded. A last line cut by the
    byte limit is left out, and so is the empty text after a final newline."""
    head = data[:size]
    lines = split_lines(head)
    if lines and (lines[-1] == "" or len(data) > size or not complete):
        lines.pop()  # the text after the last newline: nothing, or a line cut short
    return lines[:limit]


def detect_lines(data: Any, complete: bool = True) -> str | None:
    """The format name of a file from its first lines (more of them when the first ones
    are not conclusive, and the lines without '# ' when a log was pasted as comments);
    None if no parser is confident. ``data``: as for ``head_lines`` (4 MB are enough)."""
    head = head_lines(data, 256 << 10, registry.HEAD_LINES + 1, complete)
    name = registry.detect(head[:registry.HEAD_LINES])
    if name is None and len(head) > registry.HEAD_LINES:
        name = registry.detect(head_lines(data, _HEAD, registry.LONG_HEAD_LINES, complete))
    if name is None:  # a log pasted into a script or notes as '# ' comments
        name = registry.detect([t[2:] if t.startswith("# ") else t for t in head])
    return name


def detect_format(path: str | os.PathLike, data: Any, complete: bool = True) -> str:
    """``detect_lines``, or UnknownFormat naming the file."""
    name = detect_lines(data, complete)
    if name is None:
        raise UnknownFormat(path, registry.names())
    return name


def load(path: str | os.PathLike, format: str | None = None,
         tag_map: dict[str, str] | None = None) -> Run:
    """Read a run from a log file (or a run directory), detecting the format from content.

    ``format`` (a parser NAME such as 'nanogpt') skips detection. Unreadable lines are
    skipped and counted in ``run.stats``; a file that is missing, empty, binary or in no
    known format raises LoadError (UnknownFormat), whose message is one line.
    ``tag_map`` ({tag: metric}, the CLI's ``--map``) renames the series of the scalar
    formats (TensorBoard, Hugging Face Trainer, Lightning).
    """
    claimed = _read_claimed(Path(path), format, tag_map)
    if claimed is not None:
        return claimed
    p = resolve(path)
    try:
        with open(p, "rb") as f:
            data = _read_all(f)
    except OSError as e:
        raise LoadError(p, e.strerror or str(e)) from None
    if not data:
        raise LoadError(p, "empty file")
    if looks_binary(data[:8192]):
        raise LoadError(p, "binary data, not a text log")
    if len(data) < _HEAD and not data.strip():
        raise LoadError(p, "empty file (only blank lines)")
    try:
        mod = _module(p, format or detect_format(p, data))
    except UnknownFormat:
        run = failed_launch(data, p)
        if run is None:
            raise
        run.source = str(p)
        return run
    if tag_map and not getattr(mod, "MAPS_TAGS", False):
        raise LoadError(p, f"--map does not apply to the {mod.NAME} format (only "
                           "to TensorBoard, Hugging Face Trainer and Lightning runs)")
    run = read(mod, data, log_run_id(p), tag_map)
    if format is None and not len(run.iters):
        run = (other_reads(data, p, mod.NAME) or (None, run))[1]
    run.source = str(p)
    return run


def _read_all(f: Any) -> bytearray:
    """The file's bytes as they are now (a log still being written may grow meanwhile: the
    rest is for the next read), read into one buffer without an intermediate copy."""
    size = os.fstat(f.fileno()).st_size
    data = bytearray(size)
    got = f.readinto(data)
    del data[got:]  # the file was truncated while being read: it ends early
    return data


def read(mod: Any, data: Any, run_id: str, tag_map: dict[str, str] | None = None) -> Run:
    """A file's bytes into a Run with a format's module: its bulk reader when it has one
    and it applies, else its streaming Parser a block of lines at a time."""
    builder = RunBuilder(mod.NAME)
    bulk = getattr(mod, "read_bulk", None)
    if bulk is not None and not tag_map and bulk(builder, data, run_id=run_id) is not None:
        return builder.run()
    parser = mod.Parser(run_id, tag_map) if tag_map else mod.Parser(run_id)
    builder.stats = parser.stats
    for lineno, lines in blocks(data):
        builder.add_events(parser.feed(lines, lineno))
    builder.add_events(parser.finish())
    return builder.run()


def _generic() -> Any:
    """The generic reader's module, None when the registry lacks it."""
    try:
        return registry.get("generic")
    except KeyError:
        return None


def other_reads(data: Any, path: Path, detected: str) -> tuple[str, Run] | None:
    """For a detected format that read no iteration: (name, Run) of the first other format
    that reads some, else None (load() and the Follower both fall back to it). Asked in
    the order of their confidence over the long head, the generic reader last: a fork that
    kept nanoGPT's header and eval lines but prints its own step lines is the generic
    reader's; a weak first guess (torchrun's banner, 0.25 for build-nanogpt, in front of
    ~400 NCCL lines) gives way to the Trainer dicts further down."""
    ranked = registry.scores(head_lines(data, 256 << 10, registry.LONG_HEAD_LINES))
    names = [name for score, name in ranked
             if score >= registry.MIN_CONFIDENCE and name not in (detected, "generic")
             and hasattr(registry.get(name), "Parser")]
    if detected != "generic":  # the last resort, when it reads anything at all
        names += [name for score, name in ranked if name == "generic" and score > 0]
    for name in names:
        alt = read(registry.get(name), data, log_run_id(path))
        if len(alt.iters):
            return name, alt
    return None


# what says that a file with no training line is a training job's output: a training script
# or binary (in a command or a traceback's frame: 'python train.py', 'File "/x/train.py"',
# './train_gpt2cu', llm.c's '--input_bin'), the GPU's own out-of-memory error (TensorFlow's
# ResourceExhaustedError too), or NCCL's
# watchdog timing a collective out (a distributed job hung before its first line of data),
# or the start-up of OpenAI's gpt-2 train.py forks (nshepperd's, gpt-2-simple's: 'dataset has
# 42736 tokens', then 'Training...' alone on its line)
_TRAINING_JOB = re.compile(r"\btrain\w*\.(?:py|cu|c)\b|[/\s]train_gpt2\w*|--input_bin\b|"
                           r"CUDA out of memory|OutOfMemoryError|ResourceExhaustedError|"
                           r"Watchdog caught collective operation timeout|"
                           r"^dataset has \d+ tokens$|^Training\.\.\.$", re.IGNORECASE)


def failed_launch(data: Any, path: Path) -> Run | None:
    """A file no format recognises that holds a training job dying before its first line
    of data (an issue's prose around a launch's out-of-memory error or traceback, a shell
    script's output of an aborted binary): the generic reader's Run, one launch that failed
    with no step, if it reads one and the file names a training job; else None."""
    head = head_lines(data, 256 << 10, registry.LONG_HEAD_LINES)
    if not any(_TRAINING_JOB.search(t) for t in head):
        return None
    generic = _generic()
    if generic is None:
        return None
    run = read(generic, data, log_run_id(path))
    ended = [sg.get("end") or {} for sg in run.segments] + [run.end or {}]
    if len(run.iters) or not any(e.get("status") == "failed" for e in ended):
        return None
    return run


def _read_claimed(path: Path, format: str | None, tag_map: dict[str, str] | None) -> Run | None:
    """A run that a format reads whole from its path, formats with ``claims_path``: a
    TensorBoard event file (binary) or directory of them, a directory holding a
    trainer_state.json or a Lightning metrics.csv."""
    for name, mod in registry.path_readers().items():
        claims = getattr(mod, "claims_path", None)
        if claims is None or (format and format != name) or not claims(path):
            continue
        try:
            run = mod.parse_path(path, run_id=log_run_id(path), tag_map=tag_map)
        except ImportError as e:  # an optional extra that is not installed: say which
            raise LoadError(path, str(e)) from None
        except OSError as e:
            raise LoadError(path, e.strerror or str(e)) from None
        if not run.stats.lines:
            raise LoadError(path, f"nothing readable as {name}")
        run.source = str(path)
        return run
    return None


def _module(path: Path, name: str) -> Any:
    try:
        return registry.get(name)
    except KeyError:
        raise LoadError(path, f"unknown format {name!r} (known: "
                              f"{', '.join(registry.names())})") from None


def log_run_id(path: Path) -> str:
    """The run_id given to a foreign log's events: its file name without extension (the
    parsers' stand-in for the id our own events carry)."""
    return path.stem


def blocks(data: Any, size: int = _BLOCK) -> Iterator[tuple[int, list[str]]]:
    """(first line number, lines) of whole lines, a few MB at a time: memory stays
    proportional to the events, not to the file."""
    lineno = 1
    for block in byte_blocks(data, size):
        lines = decode_lines(block)
        yield lineno, lines
        lineno += len(lines)
