"""`golden`: write a baseline (golden) file from one run or several seeds of one config (a
thin layer over analyzer.golden and analyzer.golden_stats; `check` compares a run with it).

    python -m analyzer golden RUN -o baseline.json
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from analyzer import golden, golden_stats
from analyzer.cli.common import EXIT_OK, add_format, nothing_recognised
from analyzer.golden import GoldenError
from analyzer.output import check_output, open_output
from analyzer.run import Run


def load_run(path: str, format: str | None = None) -> Run:
    """Any supported run (our JSONL, a run directory, a stdout log) through analyzer.load."""
    from analyzer.loader import LoadError, load
    try:
        run = load(path, format=format)
    except LoadError as e:
        raise GoldenError(str(e)) from None       # already 'FILE: problem'
    except OSError as e:
        raise GoldenError(f"{path}: {e.strerror or e}") from None
    if run.source is None:
        run.source = path
    problem = nothing_recognised(run, format, need_iterations=True)
    if problem:
        raise GoldenError(problem)
    return run


def cmd_golden(args: argparse.Namespace) -> int:
    paths = [args.run, *args.more_runs]
    if args.output != "-":
        check_output(args.output, paths)  # before the work of reading the runs
    runs = [load_run(p, args.format) for p in paths]
    run = runs[0]
    options = dict(every=args.every, max_points=args.max_points, warmup=args.warmup,
                   description=args.description)
    if len(runs) > 1:      # seeds of one config: per-step means and the band
        baseline = golden_stats.make_seed_baseline(runs, multiplier=args.multiplier,
                                                   floor=args.floor, **options)
    else:
        baseline = golden.make_baseline(run, **options)
    text = golden.dumps_baseline(baseline)
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open_output(args.output, [r.source for r in runs]) as f:
            f.write(text)
    except OSError as e:
        raise GoldenError(f"{args.output}: cannot write baseline ({e.strerror})") from None
    tl = baseline["train_loss"]
    train = (f"train loss at {len(tl['values'])} steps (every {tl['every']})" if tl
             else "no train loss (the log prints none)")
    seeds = baseline.get("seeds")
    band = (f"; seed band of {seeds['n']} runs, tolerances "
            + ", ".join(f"{m} {v:.3g}" for m, v in seeds["rtol"].items()) if seeds else "")
    print(f"wrote {args.output}: {train}, {len(baseline['evals'])} evals{band}",
          file=sys.stderr)
    return EXIT_OK


def add_parser(subparsers: Any) -> None:
    """Add the `golden` subcommand."""
    p = subparsers.add_parser(
        "golden", help="write a baseline (golden) file from a run",
        description="Write a baseline from a run (our events.jsonl, its directory, or a "
                    "stdout log): train loss at steps, eval losses, final val loss, median "
                    "step time. See docs/ci-check.md.")
    p.add_argument("run", help="run to take the baseline from")
    p.add_argument("more_runs", nargs="*", metavar="RUN",
                   help="more runs of the same config with other seeds: the baseline then "
                        "holds their per-step mean, std, min and max, and tolerances from "
                        "their spread (docs/ci-check.md, 'Several seeds')")
    p.add_argument("--multiplier", type=float, default=golden_stats.DEFAULT_MULTIPLIER,
                   help="seed band: tolerance = largest relative deviation of a seed from "
                        "the mean x this (default %(default)s, as Megatron-LM)")
    p.add_argument("--floor", type=float, default=golden_stats.DEFAULT_FLOOR,
                   help="seed band: the smallest tolerance (default %(default)s)")
    p.add_argument("-o", "--output", required=True, help="baseline file to write ('-': stdout)")
    p.add_argument("--every", type=int, default=None,
                   help="keep the train loss at multiples of this step (default: every "
                        "logged step, or a round stride keeping about --max-points)")
    p.add_argument("--max-points", type=int, default=200,
                   help="most train-loss steps to keep when --every is not given (200)")
    p.add_argument("--warmup", type=int, default=None,
                   help="first logged iterations left out of the step time (default 10%%)")
    p.add_argument("--description", default=None, help="one line saying what the baseline is")
    add_format(p)
    p.set_defaults(func=cmd_golden)
