"""`report`: figures (PNG) or a self-contained HTML report of a run."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from analyzer.cli.common import (EXIT_OK, CliError, add_command, add_common,
                                 diagnostics_config, load_run, run_diagnostics)


def cmd_report(args: argparse.Namespace) -> int:
    from analyzer import report
    from analyzer.output import check_output, output_path
    out = args.output
    kind = out.rsplit(".", 1)[-1].lower() if "." in out else ""
    if kind not in ("png", "html", "htm"):
        raise CliError(f"{out}: the report must end in .png or .html")
    check_output(out, [args.path])  # before the work of reading and drawing
    run = load_run(args.path, args.format, args.map)
    cfg = diagnostics_config(args)
    findings = run_diagnostics(run, args)
    try:
        with output_path(out, [args.path]) as tmp:
            render = report.render_png if kind == "png" else report.render_html
            render(run, findings, tmp, cfg)
    except OSError as e:
        raise CliError(f"{out}: cannot write ({e.strerror or e})") from None
    print(f"wrote {out} ({len(findings)} findings)", file=sys.stderr)
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = add_command(sub, "report", "figures (PNG) or a self-contained HTML report",
                    "Draw loss (raw, smoothed, evals), step time (eval and unexplained spikes "
                    "marked), MFU and learning rate. A .html output also holds the summary "
                    "and the findings, with the figures embedded.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("-o", "--output", required=True, help="FILE.png or FILE.html")
    add_common(p)
    p.set_defaults(func=cmd_report)
