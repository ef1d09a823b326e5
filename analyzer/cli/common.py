"""What every verb of ``python -m analyzer`` shares: exit statuses and the one mapping from an
error to its status, reading a run, the diagnostics options, ``--format``/``--map``/``--set``,
and the examples shown by ``--help``. Light: heavy modules are imported inside the functions.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import IO, Any, Iterator

from gptscope.schema import json_safe

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def exit_status(error: BaseException) -> int | None:
    """The one mapping from an error escaping a verb to the exit status; unusable input is
    one line on stderr (status 2), never a traceback. None: not ours to handle (re-raise)."""
    from analyzer.loader import LoadError
    if isinstance(error, (CliError, LoadError, ValueError)):  # GoldenError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if isinstance(error, BrokenPipeError):  # `... | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    if isinstance(error, OSError):
        where = f"{error.filename}: " if getattr(error, "filename", None) else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return None


# -- reading a run and judging it ----------------------------------------------------------

def nothing_recognised(run: Any, forced: str | None = None,
                       need_iterations: bool = False) -> str | None:
    """Why a run cannot be judged (None when it can): no iteration and no eval was read from
    it and, unless ``need_iterations``, not even a start or an end (a crash at start-up is
    worth diagnosing). A gate (diagnose, check) must never pass on nothing, e.g. on a log
    read with the wrong ``--format`` (every line skipped)."""
    if len(run.iters) or len(run.evals):
        return None
    if not need_iterations and (run.end or run.segments):
        return None
    st = run.stats
    hint = (f"; --format {forced} was given: leave it out to detect the format"
            if forced else "")
    return (f"{run.source or 'run'}: no training iterations recognised ({run.format}: "
            f"{st.skipped} of {st.lines} lines skipped{hint})")


def load_run(path: str, fmt: str | None = None, maps: list[str] | None = None):
    """The run at ``path`` (``--format``, ``--map`` applied); CliError when nothing in it was
    recognised."""
    from analyzer.loader import load
    from analyzer.parsers._scalars import parse_map
    run = load(path, format=fmt, tag_map=parse_map(maps or []) or None)
    problem = nothing_recognised(run, fmt)
    if problem:
        raise CliError(problem)
    return run


def diagnostics_config(args: argparse.Namespace):
    """The diagnostics thresholds with the ``--set NAME=VALUE`` overrides."""
    from analyzer.diagnostics import DiagnosticsConfig
    return DiagnosticsConfig.from_overrides(getattr(args, "set", None) or [])


def run_diagnostics(run, args: argparse.Namespace) -> list:
    """Every diagnostic (or those named by ``--only``) on ``run``, most severe first."""
    from analyzer.diagnostics import DEPRECATED_NAMES, run_all
    only = getattr(args, "only", None)
    for name in only or []:
        if name in DEPRECATED_NAMES:
            print(f"note: --only {name} is an old name; use --only "
                  f"{' --only '.join(DEPRECATED_NAMES[name])}", file=sys.stderr)
    return run_all(run, diagnostics_config(args), only=only)


def severity_counts(findings: list) -> dict[str, int]:
    return {sev: sum(f.severity == sev for f in findings) for sev in ("error", "warning", "info")}


def dump(obj: Any) -> str:
    """``--json`` output: indented, numpy and pandas values made plain."""
    return json.dumps(json_safe(obj), indent=1, default=str)


@contextlib.contextmanager
def output(name: str, inputs: list) -> Iterator[IO[str]]:
    """stdout for '-', else the file through analyzer.output (never over an input or a
    run's own files; written whole or not at all)."""
    from analyzer.output import open_output
    if name == "-":
        yield sys.stdout
        return
    with open_output(name, inputs) as f:
        yield f


# -- options -------------------------------------------------------------------------------

EXAMPLES = {
    "parse": "python -m analyzer parse train.log -o events.jsonl",
    "summary": "python -m analyzer summary logs/my-run",
    "diagnose": "python -m analyzer diagnose train.log --fail-on error --set patience=3",
    "report": "python -m analyzer report train.log -o report.html",
    "compare": "python -m analyzer compare logs/baseline logs/candidate",
    "watch": "python train.py config/train_shakespeare_char.py | tee train.log &\n"
             "  python -m analyzer watch train.log",
    "export": "python -m analyzer export train.log --tensorboard runs/train",
}


def add_command(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A verb's parser, with its example (EXAMPLES) under its help."""
    return sub.add_parser(name, help=help, description=description,
                          epilog=f"example:\n  {EXAMPLES[name]}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def add_common(p: argparse.ArgumentParser, diagnostics: bool = True) -> None:
    """``--format`` and ``--map``, and with ``diagnostics`` the thresholds' ``--set``."""
    p.add_argument("--format", help="skip format detection (e.g. nanogpt, llmc, gptscope)")
    p.add_argument("--map", action="append", metavar="TAG=METRIC",
                   help="TensorBoard, Hugging Face and Lightning runs: read this tag (column, "
                        "key) as METRIC (loss, val_loss, lr, grad_norm, tokens_per_s, mfu, "
                        "dt_ms, step_ms, eval_train_loss, or 'metric' to keep it a named "
                        "metric), repeatable; see docs/parsers.md")
    if diagnostics:
        p.add_argument("--set", action="append", metavar="NAME=VALUE",
                       help="override a diagnostics threshold, repeatable (see "
                            "docs/analyzer.md for the list), e.g. --set low_mfu=0.2")


def add_format(p: argparse.ArgumentParser) -> None:
    """``--format`` alone (the CI verbs `golden` and `check`)."""
    p.add_argument("--format", default=None,
                   help="skip format detection (e.g. gptscope, nanogpt, llmc)")
