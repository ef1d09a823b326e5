"""`compare`: two runs side by side."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from analyzer.cli.common import (EXIT_OK, add_command, add_common, diagnostics_config, dump,
                                 load_run)


def format_compare(c: dict[str, Any], name_a: str, name_b: str) -> str:
    a, b = c["a"], c["b"]
    rows = [("format", a["format"], b["format"], None),
            ("last step", a["last_step"], b["last_step"], None),
            ("final train loss", a["final_train_loss"], b["final_train_loss"], "{:.4f}"),
            ("best val loss", a["best_val_loss"], b["best_val_loss"], "{:.4f}"),
            ("best val step", a["best_val_step"], b["best_val_step"], None),
            ("median ms/step", a["throughput"]["median_step_ms"],
             b["throughput"]["median_step_ms"], "{:,.1f}"),
            ("tokens/s", a["throughput"]["median_tokens_per_s"],
             b["throughput"]["median_tokens_per_s"], "{:,.0f}"),
            ("MFU", a["throughput"]["median_mfu"], b["throughput"]["median_mfu"], "{:.2%}")]
    w = max(len(name_a), len(name_b), 12)
    out = [f"{'':18s} {name_a[:w]:>{w}s} {name_b[:w]:>{w}s}"]
    for label, x, y, fmt in rows:
        fx = "-" if x is None else (fmt.format(x) if fmt else str(x))
        fy = "-" if y is None else (fmt.format(y) if fmt else str(y))
        out.append(f"{label:18s} {fx:>{w}s} {fy:>{w}s}")
    if "train_loss" in c:
        t = c["train_loss"]
        out.append(f"train loss over {t['common_steps']} common steps ({t['first']}-"
                   f"{t['last']}): B is {t['mean_rel_diff']:+.2%} vs A on average")
    if "val_loss" in c:
        v = c["val_loss"]
        out.append(f"val loss over {v['common_evals']} common evals: B - A = "
                   f"{v['mean_diff']:+.4f} on average, {v['at_last'][1] - v['at_last'][0]:+.4f}"
                   f" at step {v['last']}")
    if "speedup" in c:
        out.append(f"speed: B runs {c['speedup']:.2f}x as fast as A per step")
    if "train_loss" not in c and "val_loss" not in c:
        out.append("no common steps: the losses cannot be compared step by step")
    return "\n".join(out)


def short_names(a: Any, b: Any, width: int = 24) -> tuple[str, str]:
    """Column headers for two runs: their names (run id or file stem), cut to ``width``;
    when the names are the same, the parent directories tell them apart."""
    na, nb = a.name, b.name
    if na == nb and a.source and b.source:
        pa, pb = Path(a.source).resolve().parent.name, Path(b.source).resolve().parent.name
        if pa != pb:
            na, nb = f"{pa}/{na}", f"{pb}/{nb}"

    def cut(x: str) -> str:  # keep the end: run ids differ at their end (dates, seeds)
        return x if len(x) <= width else "..." + x[-(width - 3):]
    return cut(na), cut(nb)


def cmd_compare(args: argparse.Namespace) -> int:
    from analyzer.comparison import compare
    a = load_run(args.run_a, args.format, args.map)
    b = load_run(args.run_b, args.format, args.map)
    from analyzer.diagnostics.causes import shared_spikes
    cfg = diagnostics_config(args)
    c = compare(a, b, cfg.warmup_steps)
    # a loss spike at the same step in both runs points at the data, not the seed or code
    shared = shared_spikes([a, b], cfg)
    name_a, name_b = short_names(a, b)
    if args.json:
        print(dump({**c, "shared_spikes": [f.to_dict() for f in shared]}))
    else:
        print("\n".join([format_compare(c, "A: " + name_a, "B: " + name_b)]
                        + [f"shared spike: {f.message}" for f in shared]))
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = add_command(sub, "compare", "two runs side by side",
                    "Compare two runs: summary figures side by side, and the losses at the "
                    "steps both logged (B minus A).")
    p.add_argument("run_a", help="baseline run (log file or run directory)")
    p.add_argument("run_b", help="the run to compare with it")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_common(p)
    p.set_defaults(func=cmd_compare)
