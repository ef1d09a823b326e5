"""`diagnose`: what went wrong (overfitting, NaNs, spikes, MFU, ...), most severe first."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from analyzer.cli.common import (EXIT_FINDINGS, EXIT_OK, CliError, add_command, add_common,
                                 dump, load_run, nothing_recognised, run_diagnostics,
                                 severity_counts)


def format_finding(f, suggestion: bool = True) -> str:
    text = f.format()
    if suggestion and f.suggestion:
        text += f"\n        -> {f.suggestion}"
    return text


def cmd_diagnose(args: argparse.Namespace) -> int:
    from analyzer.findings import SEVERITIES
    run = load_run(args.path, args.format, args.map)
    findings = run_diagnostics(run, args)
    if not findings:  # "nothing looks wrong" only about something that was read
        problem = nothing_recognised(run, args.format, need_iterations=True)
        if problem:
            raise CliError(problem)
    if args.json:
        print(dump({"source": run.source, "format": run.format,
                     "findings": [f.to_dict() for f in findings]}))
    else:
        for f in findings:
            print(format_finding(f))
        c = severity_counts(findings)
        print(f"{len(findings)} findings: {c['error']} error(s), {c['warning']} warning(s), "
              f"{c['info']} info" if findings else "No findings: nothing looks wrong.")
    if args.fail_on:
        limit = SEVERITIES.index(args.fail_on)
        if any(f.rank >= limit for f in findings):
            return EXIT_FINDINGS
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = add_command(sub, "diagnose", "what went wrong: overfitting, NaNs, spikes, MFU, ...",
                    "Run every diagnostic and print the findings, most severe first. Exit "
                    "status 1 when --fail-on is given and a finding is at least that severe.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--fail-on", choices=("info", "warning", "error"),
                   help="exit with status 1 if a finding is at least this severe")
    p.add_argument("--only", action="append", metavar="CODE",
                   help="only the findings with this code, as printed (repeatable), e.g. "
                        "--only overfitting --only loss_spike")
    add_common(p)
    p.set_defaults(func=cmd_diagnose)
