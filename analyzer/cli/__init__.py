"""`python -m analyzer`: a thin command line over the analyzer library.

    python -m analyzer summary train.log
    python -m analyzer diagnose train.log --fail-on error
    python -m analyzer report logs/run1 -o run1.html
    python -m analyzer watch train.log          # while `python train.py | tee train.log` runs

Exit status: 0 ok; 1 `diagnose --fail-on` found something that severe; 2 unusable input or
usage (one line on stderr). Heavy modules (pandas, matplotlib) are imported inside the
commands, so `--help` is instant.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading

from analyzer.cli.common import EXAMPLES, exit_status
from analyzer.cli.memory import keep_freed_memory, skip_cyclic_gc

__all__ = ["EXAMPLES", "build_parser", "main", "run"]

OWN_COMMANDS = ("parse", "summary", "diagnose", "report", "compare", "watch", "export")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. ``argv`` only decides whether the `golden` and `check` verbs
    (analyzer/cli/golden.py and check.py, which import pandas) need registering: not for our
    own commands, so that `python -m analyzer diagnose --help` stays quick."""
    from analyzer.cli import compare, diagnose, export, parse, report, summary, watch
    parser = argparse.ArgumentParser(
        prog="python -m analyzer", description=__doc__.split("\n\n")[0],
        epilog="examples:\n  " + "\n  ".join(EXAMPLES[k] for k in ("summary", "diagnose",
                                                                   "report")),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in (parse, summary, diagnose, report, compare, export, watch):
        verb.add_parser(sub)
    first = next((a for a in (argv or []) if not a.startswith("-")), None)
    if first not in OWN_COMMANDS:
        try:
            from analyzer.cli import check, golden
        except ImportError:
            return parser  # the CI check verbs are optional
        golden.add_parser(sub)
        check.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except (Exception, KeyboardInterrupt) as e:
        status = exit_status(e)
        if status is None:
            raise
        return status



def run() -> None:
    """The command's entry (``python -m analyzer``, ``gptscope-analyze``): main(), then exit
    without the interpreter's teardown once the output is flushed.

    Why: a summary of a 1M-line log leaves ~300 MB of tables, and freeing them object by
    object at exit, then unmapping the pages, took 0.03-0.3 s more than the work itself
    (1M-line nanoGPT log: 0.58-0.82 s end to end, 0.54-0.58 s without the teardown).
    Nothing is left to do at exit: output files are written and renamed inside the
    commands. Skipped while another thread runs (its work must finish), and an exception
    main() does not handle leaves through the normal exit with its traceback."""
    if os.environ.get("GPTSCOPE_MALLOC", "1") != "0":
        keep_freed_memory()
    if os.environ.get("GPTSCOPE_GC", "auto") != "on":
        skip_cyclic_gc(sys.argv[1:])
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left (`| head`): nothing more can be said to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = status or 1
    if threading.active_count() == 1:
        os._exit(status)
    sys.exit(status)
