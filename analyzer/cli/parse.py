"""`parse`: convert any supported log into gptscope events (JSONL)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analyzer.cli.common import EXIT_OK, CliError, add_command, add_common, output


def _parse_whole(args: argparse.Namespace) -> int | None:
    """A TensorBoard file or run directory (binary records, read whole): its events."""
    from analyzer.parsers import tensorboard
    from gptscope.schema import dumps
    p = Path(args.log)
    if not tensorboard.claims_path(p) or args.format not in (None, tensorboard.NAME):
        return None
    if args.output != "-":
        from analyzer.output import check_output
        check_output(args.output, [p])
    try:
        events = tensorboard.events(p, run_id=args.run_id or p.stem)
    except ImportError as e:  # the optional extra is missing: say which
        raise CliError(f"{p}: {e}") from None
    with output(args.output, [p]) as out:
        out.writelines(dumps(ev) + "\n" for ev in events)
    print(f"{p}: tensorboard, {len(events)} events", file=sys.stderr)
    return EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    import mmap

    from analyzer import parsers as registry
    from analyzer.loader import LoadError, blocks, detect_format, resolve
    from analyzer.output import check_output
    from gptscope.schema import dumps
    whole = _parse_whole(args)
    if whole is not None:
        return whole
    path = resolve(args.log)
    if args.output != "-":
        check_output(args.output, [path])  # before the input is mapped into memory
    with open(path, "rb") as f:
        if not path.stat().st_size:
            raise LoadError(path, "empty file")
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    fmt = args.format or detect_format(path, data)
    try:
        mod = registry.get(fmt)
    except KeyError as e:
        raise CliError(f"{path}: {e.args[0]}") from None
    parser = mod.Parser(run_id=args.run_id or path.stem)
    try:
        with output(args.output, [path]) as out:
            n = 0
            for lineno, lines in blocks(data):
                events = parser.feed(lines, lineno)
                out.writelines(dumps(ev) + "\n" for ev in events)
                n += len(events)
            events = parser.finish()
            out.writelines(dumps(ev) + "\n" for ev in events)
            n += len(events)
            st = parser.stats
            if args.format and not n:  # the forced format read nothing: write nothing
                raise CliError(f"{path}: no lines read as {fmt} ({st.skipped} of {st.lines}"
                               f" skipped); leave --format out to detect the format")
    finally:
        data.close()
    print(f"{path}: {fmt}, {n} events from {st.lines} lines ({st.skipped} skipped)"
          + ("" if args.output == "-" else f" -> {args.output}"), file=sys.stderr)
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = add_command(sub, "parse", "convert any supported log into gptscope events (JSONL)",
                    "Convert a log (nanoGPT, build-nanogpt, llm.c, modded-nanogpt, nanochat "
                    "stdout, or our own events.jsonl) into gptscope events, one JSON object "
                    "per line.")
    p.add_argument("log", help="the log file")
    p.add_argument("-o", "--output", required=True, help="events file to write ('-': stdout)")
    p.add_argument("--run-id", help="run_id of the events (default: the file's stem)")
    add_common(p, diagnostics=False)
    p.set_defaults(func=cmd_parse)
