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
import sys

from analyzer.cli.common import EXAMPLES, exit_status

__all__ = ["EXAMPLES", "build_parser", "main"]

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

