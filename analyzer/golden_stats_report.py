"""The seed-statistics part of a golden check report: band excursions per run, the Welch
test over several runs, and the band picture. Pure functions from results to a dict or text;
the CLI (analyzer/cli/check.py) prints them after golden_report's per-run report.
"""
from __future__ import annotations

from typing import Any

from analyzer.golden_stats import Excursion, WelchResult

MAX_SHOWN = 5      # excursions listed per run and metric; the rest are counted


def stats_dict(excursions: dict[str, list[Excursion]], welch: WelchResult | None,
               seeds: dict[str, Any] | None, tolerance_source: str,
               png: str | None = None) -> dict[str, Any]:
    """What the seed statistics found, JSON-ready. tolerance_source: 'seed spread' or
    'explicit --rtol'."""
    return {
        "seeds": None if seeds is None else {
            "n": seeds["n"], "runs": seeds["runs"], "multiplier": seeds["multiplier"],
            "floor": seeds["floor"], "max_rel_dev": seeds["max_rel_dev"],
            "rtol": seeds["rtol"]},
        "tolerance_source": tolerance_source,
        "excursions": {run: [{"metric": e.metric, "first_step": e.first_step,
                              "last_step": e.last_step, "points": e.points,
                              "worst_step": e.worst_step, "worst_value": e.worst_value,
                              "seed_mean": e.worst_mean, "side": e.side,
                              "message": e.message()} for e in ex]
                       for run, ex in excursions.items()},
        "welch": None if welch is None else welch.to_dict(),
        "plot": png,
    }


def _lines(d: dict[str, Any]) -> list[str]:
    out = []
    seeds = d["seeds"]
    if not seeds:
        out.append("the baseline is one run: each run is checked on its own (a baseline "
                   "from several seeds gives a band and a Welch test)")
    else:
        rtol = ", ".join(f"{m} {v:.3g}" for m, v in seeds["rtol"].items())
        out.append(f"seed band: {seeds['n']} runs ({', '.join(seeds['runs'])}); tolerance "
                   f"from the {d['tolerance_source']}: {rtol}")
    for run, ex in d["excursions"].items():
        if not ex:
            out.append(f"{run}: inside the band at every step")
            continue
        by_metric: dict[str, list[dict[str, Any]]] = {}
        for e in ex:
            by_metric.setdefault(e["metric"], []).append(e)
        for metric, items in by_metric.items():
            points = sum(e["points"] for e in items)
            out.append(f"{run}: {metric} outside the band at {points} points in "
                       f"{len(items)} stretches")
            out += [f"  {e['message']}" for e in items[:MAX_SHOWN]]
            if len(items) > MAX_SHOWN:
                out.append(f"  ... ({len(items) - MAX_SHOWN} more)")
    if d["welch"]:
        out.append(d["welch"]["message"])
    return out


def render_stats_text(d: dict[str, Any]) -> str:
    return "\n".join(["", "seed statistics:"] + [f"  {line}" for line in _lines(d)]) + "\n"


def data_uri(png: bytes) -> str:
    """A PNG inline, so the Markdown needs no file beside it."""
    import base64
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_stats_markdown(d: dict[str, Any]) -> str:
    out = ["", "#### Seed statistics", ""] + [f"- {line.strip()}" for line in _lines(d)]
    if d["plot"]:      # a file name, or the picture itself as a data: URI
        out += ["", f"![train and val loss against the baseline band]({d['plot']})"]
    return "\n".join(out) + "\n"
