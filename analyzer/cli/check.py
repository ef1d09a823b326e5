"""`check`: the CI regression check, a run (or several seeds) against a baseline written by
`golden` (a thin layer over analyzer.golden and analyzer.golden_stats).

    python -m analyzer check RUN --baseline baseline.json [--mode exact] [--rtol loss=0.01]

Exit status: 0 pass, 1 regression, 2 unusable input (one line on stderr).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from analyzer import golden, golden_stats
from analyzer.cli.common import EXIT_FINDINGS, EXIT_OK, add_format
from analyzer.cli.golden import load_run
from analyzer.golden import GoldenError
from analyzer.golden_report import render_json, render_markdown, render_table
from analyzer.golden_stats_report import (data_uri, render_stats_markdown, render_stats_text,
                                          stats_dict)
from analyzer.run import Run


def parse_per_metric(values: list[str] | None, flag: str) -> dict[str, float]:
    """['loss=0.02', 'step_time=0.5'] -> {'loss': 0.02, 'step_time': 0.5}; a bare number
    applies to every loss metric (``--rtol 0.05``)."""
    out: dict[str, float] = {}
    for text in values or []:
        name, _, number = text.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            raise GoldenError(f"{flag} {text!r}: expected METRIC=NUMBER, e.g. "
                              f"{flag} loss=0.02") from None
        if not math.isfinite(value) or value < 0:
            raise GoldenError(f"{flag} {text!r}: the tolerance must be a number >= 0")
        out[name or "loss"] = value
    return out


def unused_tolerances(args: argparse.Namespace, rtol: dict[str, float],
                      atol: dict[str, float]) -> None:
    """A tolerance the check would not use is refused, as --smooth in exact mode is: a
    user who typed it believes it applies."""
    given = set(rtol) | set(atol)
    if args.mode == "exact" and given - {"step_time"}:
        raise GoldenError("--rtol/--atol have no meaning for losses in exact mode (every "
                          "loss must be equal); use --mode tolerance")
    if "step_time" in given and not args.check_step_time:
        raise GoldenError("a step_time tolerance needs --check-step-time (step time is not "
                          "compared without it)")


def cmd_check(args: argparse.Namespace) -> int:
    rtol, atol = parse_per_metric(args.rtol, "--rtol"), parse_per_metric(args.atol, "--atol")
    tolerances = golden.make_tolerances(rtol, atol)
    unused_tolerances(args, rtol, atol)
    baseline = golden.read_baseline(args.baseline)
    golden_stats.validate_seeds(baseline, args.baseline)
    runs = [load_run(p, args.format) for p in [args.run, *args.more_runs]]
    explicit = {m for name in {**rtol, **atol}
                for m in (golden.LOSS_METRICS if name == "loss" else (name,))}
    sc = golden_stats.check_runs(
        runs, baseline, tolerances, explicit, alpha=args.alpha, mode=args.mode,
        smoothing=args.smooth, check_step_time=args.check_step_time, direction=args.direction,
        strict_config=args.strict_config, baseline_name=args.baseline)
    sys.stdout.write(_render_check(args, runs, baseline, sc))
    return EXIT_OK if sc.passed else EXIT_FINDINGS


def _render_check(args: argparse.Namespace, runs: list[Run], baseline: dict[str, Any],
                  sc: golden_stats.SeedCheck) -> str:
    """One run against a one-run baseline: the report as before (plus the picture in
    Markdown). Otherwise each run's report, then the seed statistics."""
    plot = None
    if args.plot or args.markdown:
        tol = sc.results[0].tolerances
        if args.plot:
            plot = golden_stats.save_band_png(baseline, runs, args.plot, tol)
        else:
            plot = data_uri(golden_stats.band_png(baseline, runs, tol))
    plain = sc.seeds is None and len(runs) == 1
    stats = stats_dict(sc.excursions, sc.welch, sc.seeds, sc.tolerance_source,
                       args.plot if args.plot else None)
    if args.json:
        if plain:
            return render_json(sc.results[0])
        body = (sc.results[0].to_dict() if len(runs) == 1 else
                {"status": "pass" if sc.passed else "regression",
                 "runs": [r.to_dict() for r in sc.results]})
        return json.dumps({**body, "statistics": stats}, indent=2, allow_nan=False) + "\n"
    if args.markdown:
        stats["plot"] = plot
        text = "".join(render_markdown(r) for r in sc.results)
        return text + (render_stats_markdown(stats) if not plain else
                       f"\n![train and val loss against the baseline]({plot})\n")
    text = "".join(render_table(r) for r in sc.results)
    return text if plain else text + render_stats_text(stats)


def add_parser(subparsers: Any) -> None:
    """Add the `check` subcommand."""
    p = subparsers.add_parser(
        "check", help="compare a run with a baseline; exit 0 pass, 1 regression, 2 unusable",
        description="Compare a run with a baseline written by `golden`. Exit status: 0 pass, "
                    "1 regression, 2 unusable input. See docs/ci-check.md.")
    p.add_argument("run", help="run to check (our events.jsonl, its directory, or a stdout log)")
    p.add_argument("more_runs", nargs="*", metavar="RUN",
                   help="more runs (other seeds): each is checked, and against a seed-band "
                        "baseline a one-sided Welch's t-test asks whether their final loss is "
                        "worse")
    p.add_argument("--alpha", type=float, default=golden_stats.DEFAULT_ALPHA,
                   help="significance level of the Welch test (default %(default)s, "
                        "modded-nanogpt's bar for records)")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="write a PNG of the baseline band with the run(s); --markdown links "
                        "it (without --plot, --markdown embeds the picture inline)")
    p.add_argument("--baseline", required=True, help="baseline file written by `golden`")
    p.add_argument("--mode", choices=golden.MODES, default="tolerance",
                   help="exact: every loss bit-for-bit equal (deterministic runs); "
                        "tolerance (default): within --rtol/--atol")
    p.add_argument("--rtol", action="append", metavar="METRIC=X",
                   help="relative tolerance per metric, repeatable: loss (all losses), "
                        "train_loss, eval_train_loss, val_loss, final_val_loss, step_time. "
                        "Defaults: losses 0.02 (from the seed spread with a seed-band "
                        "baseline), step_time 0.5")
    p.add_argument("--atol", action="append", metavar="METRIC=X",
                   help="absolute tolerance per metric, repeatable (default 0)")
    p.add_argument("--check-step-time", action="store_true",
                   help="also fail when the median step time is slower than the tolerance "
                        "allows (off by default: CI machines differ)")
    p.add_argument("--smooth", type=int, default=1, metavar="N",
                   help="compare trailing means over N stored train-loss points, so one "
                        "noisy batch does not fail a build (tolerance mode)")
    p.add_argument("--direction", choices=golden.DIRECTIONS, default="both",
                   help="both (default): a loss far below the baseline fails too (a lost "
                        "causal mask looks like that); worse: only higher losses fail")
    p.add_argument("--strict-config", action="store_true",
                   help="fail when the run's config differs from the baseline's "
                        "(default: report it)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    out.add_argument("--markdown", action="store_true",
                     help="print the result as Markdown (for a pull-request comment)")
    add_format(p)
    p.set_defaults(func=cmd_check)
