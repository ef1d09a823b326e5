"""`summary`: what a run did: steps, losses, speed, eval overhead."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from analyzer.cli.common import (EXIT_OK, add_command, add_common, diagnostics_config, dump,
                                 load_run, run_diagnostics, severity_counts)


def _num(x: Any, fmt: str = "{:.4f}") -> str:
    return "-" if x is None else fmt.format(x)


def format_duration(seconds: float) -> str:
    """A duration in the unit that reads well: '0.6 s', '42 s', '12.5 min', '23.1 h',
    '3.2 days' (never '0.0 min' or '1,383.0 min')."""
    for limit, unit, size in ((10, "s", 1), (90, "s", 1), (90 * 60, "min", 60),
                              (48 * 3600, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.{1 if limit != 90 else 0}f} {unit}"
    return f"{seconds / 86400:,.1f} days"


def format_mfu(mfu: float | None, basis: dict[str, Any] | None) -> str:
    """The MFU with what it is measured against, when that is not the device's own peak:
    '9.35% of an A100's 312 TFLOPS (nanoGPT's constant); the log does not name the GPU'."""
    if mfu is None:
        return "-"
    if not basis:
        return f"{mfu:.2%}"
    if basis.get("factor") is not None:
        mfu *= basis["factor"]
    return f"{mfu:.2%}" + (f" {basis['label']}" if basis.get("label") else "")


def format_summary(s: dict[str, Any], counts: dict[str, int]) -> str:
    t = s["throughput"]
    lines = [
        f"run       {s['name']}: {s['source']} ({s['format']}, {s['segments']} segment"
        f"{'s' if s['segments'] != 1 else ''})",
        "steps     " + (f"{s['first_step']} - {s['last_step']}" + (
            f" ({s['reached_step']} reached before a resume went back)"
            if s.get("reached_step") is not None else "") + ": "
            if s["first_step"] is not None else "none logged: ") +
        f"{s['iters_logged']} iterations logged, {s['evals']} evals, "
        f"{s['checkpoints']} checkpoints" + (f", ended {s['status']}" if s["status"] else ""),
        f"loss      final train {_num(s['final_train_loss'])}, final val "
        f"{_num(s['final_val_loss'])}, best val {_num(s['best_val_loss'])}"
        + (f" at step {s['best_val_step']}" if s["best_val_step"] is not None else "")
        + (f" (val in {s['val_unit']})" if s.get("val_unit", "loss") != "loss" else ""),
        _speed(t),
        f"          tokens/s {_num(t['median_tokens_per_s'], '{:,.0f}')}, MFU "
        + format_mfu(t["median_mfu"], s.get("mfu_basis")),
    ]
    if s.get("per_run"):
        lines[1:1] = format_runs(s["per_run"])
    if t["wall_s"]:
        lines.append(f"time      ~{format_duration(t['wall_s'])} of training"
                     + (f", {t['eval_overhead_frac']:.1%} of it in evals"
                        if t["eval_overhead_frac"] is not None else ""))
    lines.append(f"parse     {s['lines']} lines, {s['lines_skipped']} skipped")
    total = sum(counts.values())
    lines.append("findings  " + (", ".join(f"{n} {k}" for k, n in counts.items() if n)
                                 if total else "none") + " (see `diagnose`)")
    return "\n".join(lines)


def _speed(t: dict[str, Any]) -> str:
    if t.get("step_ms_basis") == "total":  # no step timed: the trainer's own total
        return (f"speed     {_num(t['median_step_ms'], '{:,.1f}')} ms/step on average (the "
                "trainer's train_runtime less its evals, over its steps; no step is timed)")
    return (f"speed     {_num(t['median_step_ms'], '{:,.1f}')} ms/step median (p10 "
            f"{_num(t['p10_step_ms'], '{:,.1f}')}, p90 {_num(t['p90_step_ms'], '{:,.1f}')}) "
            f"over {t['steady_iters']} steady steps; {t['eval_iters']} eval and "
            f"{t['warmup_iters']} warm-up steps left out")


def format_runs(per_run: list[dict[str, Any]]) -> list[str]:
    """Lines for a file that holds several independent runs: one each, then a note that the
    figures below are the last run's."""
    lines = [f"runs      {len(per_run)} independent runs in this file; the figures below are "
             f"the last run's"]
    for r in per_run:
        steps = (f"steps {r['first_step']} - {r['last_step']}" if r["first_step"] is not None
                 else "no steps")
        best = (f", best val {_num(r['best_val_loss'])} at step {r['best_val_step']}"
                if r["best_val_loss"] is not None else "")
        lines.append(f"  run {r['run']}: {steps}, {r['iters_logged']} iterations, final train "
                     f"{_num(r['final_train_loss'])}, final val {_num(r['final_val_loss'])}"
                     + best)
    return lines


def cmd_summary(args: argparse.Namespace) -> int:
    from analyzer.diagnostics.prepared import prepared, sharing
    from analyzer.mfu_basis import mfu_basis
    from analyzer.stats import summarize
    run = load_run(args.path, args.format, args.map)
    cfg = diagnostics_config(args)
    with sharing():  # the diagnostics' row masks and throughput serve the summary too
        counts = severity_counts(run_diagnostics(run, args))
        s = {"name": run.name,
             **summarize(run, cfg.warmup_steps, prepared(run, cfg).throughput),
             "mfu_basis": mfu_basis(run.meta).to_dict()}
    from analyzer.forecast import forecast_run
    from analyzer.references import load_reference, run_standing
    forecast = forecast_run(run, args.forecast_step)
    mine = [r for path in args.reference or [] for r in load_reference(path)]
    standing = run_standing(run) + (run_standing(run, mine, match=False) if mine else [])
    if args.json:
        print(dump({**s, "findings": counts, "forecast": forecast.to_dict(),
                     "standing": [dataclasses.asdict(x) for x in standing]}))
    else:
        print(format_summary(s, counts) + f"\nforecast  {forecast.text()}"
              + "".join(f"\nstanding  {x.message}" for x in standing))
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = add_command(sub, "summary", "what a run did: steps, losses, speed, eval overhead",
                    "Summarise a run: steps, final and best losses, steady-state step time, "
                    "tokens/s and MFU (evals and warm-up left out), time spent in evals, parse "
                    "statistics.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--forecast-step", type=int, default=None, metavar="STEP",
                   help="forecast the train loss at this step (default: the run's max_iters; "
                        "see docs/analyzer.md, 'Forecast')")
    p.add_argument("--reference", action="append", metavar="FILE",
                   help="also say where the run stands against this reference: a references "
                        "JSON file or a run log (repeatable; docs/analyzer.md, 'Reference "
                        "curves')")
    add_common(p)
    p.set_defaults(func=cmd_summary)
