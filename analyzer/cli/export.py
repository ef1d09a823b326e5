"""`export`: write a run as TensorBoard scalars."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analyzer.cli.common import EXIT_OK, CliError, add_command, add_common, load_run


def _refuse_export_into_input(source: Path, logdir: Path, fmt: str) -> None:
    """An event file written among the TensorBoard files it was read from (or into the run
    directory read) would be read back next time with them: every point twice."""
    read_dir = source if source.is_dir() else source.parent if fmt == "tensorboard" else None
    if read_dir is not None and logdir.resolve() == read_dir.resolve():
        raise CliError(f"{logdir}: refusing to export into the directory the run is read "
                       "from (it would be read back twice); choose another directory")


def cmd_export(args: argparse.Namespace) -> int:
    from analyzer.export import export_tensorboard
    run = load_run(args.path, args.format, args.map)
    _refuse_export_into_input(Path(args.path), Path(args.tensorboard), run.format)
    try:
        res = export_tensorboard(run, args.tensorboard)
    except ImportError as e:  # the optional extra is missing: say which
        raise CliError(str(e)) from None
    print(f"wrote {res.points} scalars at {res.steps} steps -> {res.path}", file=sys.stderr)
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = add_command(sub, "export", "write a run as TensorBoard scalars",
             "Write any run the analyzer reads (events.jsonl, a stdout log, ...) as one "
             "TensorBoard event file in DIR: tags train/loss, train/lr, eval/loss, ... (see "
             "docs/parsers.md). Needs: pip install 'gptscope[tensorboard]'.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("--tensorboard", required=True, metavar="DIR",
                   help="directory to write the event file into (created if missing)")
    add_common(p, diagnostics=False)
    p.set_defaults(func=cmd_export)
