"""How good is the loss forecast? Cut every real log at 25% and 50% of its steps, forecast
the final loss, and compare with what the run really reached.

    python benchmarks/forecast.py [--json] [DIR ...]     # default: tests/data/realdata
                                                         # (and tests/data/realworld if present)

The truth is the smoothed train loss at the log's last step (the median of the last 2% of the
logged losses, at least 5): the same quantity the forecast predicts. A log is used when it has
at least 200 finite train losses. Prints one line per (log, cut), then the median absolute and
relative error and the share of true values inside the forecast interval, per cut.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzer.forecast import forecast_curve  # noqa: E402
from analyzer.loader import LoadError, load  # noqa: E402

CUTS = (0.25, 0.5)
MIN_LOSSES = 200


def curve(path: Path) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(steps, losses, warm-up step) of a log's last segment, or None if unusable."""
    try:
        run = load(path)
    except (LoadError, OSError, ValueError):
        return None
    it = run.iters.dropna(subset=["step"])
    it = it[it["segment"] == it["segment"].max()] if len(it) else it
    steps = it["step"].to_numpy(dtype=float)
    loss = it["loss"].to_numpy(dtype=float)
    ok = np.isfinite(loss) & np.isfinite(steps)
    if ok.sum() < MIN_LOSSES or not ok[-max(5, ok.size // 50):].all():
        return None         # too short, or it ends in NaN: no true final value
    steps, loss = steps[ok], loss[ok]
    config = (run.meta or {}).get("config") or {}
    warm = next((config[k] for k in ("warmup_iters", "warmup_steps", "warmup iterations")
                 if isinstance(config.get(k), (int, float))), None)
    if warm is None:
        warm = steps[0] + 0.05 * (steps[-1] - steps[0])
    return steps, loss, int(warm)


def evaluate(path: Path) -> list[dict]:
    got = curve(path)
    if got is None:
        return []
    steps, loss, warm = got
    tail = max(5, len(loss) // 50)
    truth, last = float(np.median(loss[-tail:])), int(steps[-1])
    rows = []
    for cut in CUTS:
        keep = steps <= steps[0] + cut * (last - steps[0])
        f = forecast_curve(steps[keep], loss[keep], last, warm)
        row = {"log": str(path.relative_to(ROOT)), "cut": cut, "target": last,
               "truth": truth, "forecast": f.value, "low": f.low, "high": f.high,
               "reason": f.reason}
        if f.ok:
            row.update(abs_err=abs(f.value - truth), rel_err=abs(f.value - truth) / truth,
                       signed_rel=(f.value - truth) / truth,
                       covered=bool(f.low <= truth <= f.high))
        rows.append(row)
    return rows


def summarize(rows: list[dict]) -> dict:
    out = {}
    for cut in CUTS:
        done = [r for r in rows if r["cut"] == cut and r.get("abs_err") is not None]
        out[str(cut)] = {
            "logs": sum(r["cut"] == cut for r in rows), "forecasts": len(done),
            "median_abs_err": float(np.median([r["abs_err"] for r in done])) if done else None,
            "median_rel_err": float(np.median([r["rel_err"] for r in done])) if done else None,
            "median_signed_rel": (float(np.median([r["signed_rel"] for r in done]))
                                  if done else None),
            "coverage": float(np.mean([r["covered"] for r in done])) if done else None}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="*", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    dirs = args.dirs or [d for d in (ROOT / "tests/data/realdata", ROOT / "tests/data/realworld")
                         if d.is_dir()]
    files = sorted(p for d in dirs for p in d.rglob("*") if p.is_file()
                   and p.suffix in (".log", ".txt", ".jsonl"))
    rows = [r for p in files for r in evaluate(p)]
    summary = summarize(rows)
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=1))
        return 0
    for r in rows:
        got = (f"{r['forecast']:.3f} [{r['low']:.3f}, {r['high']:.3f}] err {r['signed_rel']:+.1%}"
               if r.get("abs_err") is not None else f"none ({r['reason']})")
        print(f"{r['log']:72s} cut {r['cut']:.0%}  true {r['truth']:.3f}  forecast {got}")
    for cut, s in summary.items():
        if s["forecasts"]:
            print(f"cut {float(cut):.0%}: {s['forecasts']} of {s['logs']} logs forecast; median "
                  f"abs error {s['median_abs_err']:.3f}, median rel error "
                  f"{s['median_rel_err']:.1%} (signed {s['median_signed_rel']:+.1%}), interval "
                  f"coverage {s['coverage']:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
