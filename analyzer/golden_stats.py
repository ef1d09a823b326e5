"""Seed statistics for the golden check: a band from several runs of one config, and tests.

One run of a config is one draw: another seed gives another curve. With several seed runs
the baseline can say how far apart runs of the *same* code land, and a check can ask whether
a new run falls outside that spread. As Megatron-LM's golden-value statistics do, the default
tolerance of each metric is the largest relative deviation of any seed from the per-step mean,
times a multiplier (1.5), with a floor; an explicit ``--rtol`` still overrides it.

With several new runs, the final losses of both groups go through a one-sided Welch's t-test
(modded-nanogpt accepts a record only at p < 0.01 over seeds): is the new code worse?

The ``seeds`` section of a baseline (added next to golden.py's keys, whose train-loss and
eval values become the per-step means):

    n, runs                  how many seed runs, and their file names
    multiplier, floor        how the tolerances were derived
    max_rel_dev, rtol        per metric: largest |seed - mean| / |mean|, and the tolerance
    band                     per metric, per step: [mean, std, min, max] over the seeds
    final                    per metric: each seed's final value (train loss, val loss)

Pure functions, except ``save_band_png`` which writes a picture (matplotlib, Agg backend).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analyzer import golden
from analyzer.golden import GoldenError, Tolerance
from analyzer.run import Run

# Megatron-LM's compute_golden_statistics recommends max relative deviation x 1.5 (its CLI
# default), floored at 0.1%; the floor keeps bit-identical seeds from making a zero tolerance.
DEFAULT_MULTIPLIER = 1.5
DEFAULT_FLOOR = 0.001
BAND_METRICS = ("train_loss", "eval_train_loss", "val_loss")
# modded-nanogpt's bar for a new record; the same bar for calling a change a regression
DEFAULT_ALPHA = 0.01


def run_name(run: Run, i: int = 0) -> str:
    """A short name for a run: its directory for an events.jsonl, else its file name."""
    src = run.source or f"run{i}"
    if os.path.basename(src) == "events.jsonl":
        src = os.path.dirname(src) or src
    return os.path.basename(src.rstrip("/")) or src


def _series(run: Run) -> dict[str, pd.Series]:
    evals = golden.eval_table(run)
    return {"train_loss": golden.train_loss_series(run),
            "eval_train_loss": evals["train_loss"], "val_loss": evals["val_loss"]}


def _finite_or_fail(name: str, metric: str, s: pd.Series) -> None:
    bad = s[~np.isfinite(s.to_numpy(dtype=float))]
    if len(bad):
        raise GoldenError(f"{name}: {metric} is not finite at step {int(bad.index[0])}; "
                          "a diverged run makes no baseline")


def band_of(values: pd.DataFrame) -> tuple[dict[str, list[float]], float]:
    """Per step (rows) over seeds (columns): [mean, std, min, max], and the largest relative
    deviation of any seed from its step's mean (Megatron-LM's 'max observed variance')."""
    arr = values.to_numpy(dtype=float)
    mean = arr.mean(axis=1)
    std = arr.std(axis=1, ddof=1) if arr.shape[1] > 1 else np.zeros(len(arr))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(arr - mean[:, None]) / np.abs(mean)[:, None]
    rel = rel[np.isfinite(rel)]
    band = {str(int(s)): [float(m), float(d), float(lo), float(hi)]
            for s, m, d, lo, hi in zip(values.index, mean, std, arr.min(axis=1),
                                       arr.max(axis=1))}
    return band, float(rel.max()) if rel.size else 0.0


def seed_stats(runs: Sequence[Run], multiplier: float = DEFAULT_MULTIPLIER,
               floor: float = DEFAULT_FLOOR) -> dict[str, Any]:
    """The ``seeds`` section (see the module docstring) from two or more runs of one config.

    Only the steps every run logged are kept, so each band point has all seeds behind it.
    Raises GoldenError when fewer than two runs are given, a loss is not finite, or the runs
    share no step.
    """
    if len(runs) < 2:
        raise GoldenError("seed statistics need at least two runs")
    if not (math.isfinite(multiplier) and multiplier > 0 and math.isfinite(floor)
            and floor >= 0):
        raise GoldenError("multiplier must be > 0 and floor >= 0")
    names = [run_name(r, i) for i, r in enumerate(runs)]
    per_run = [_series(r) for r in runs]
    out: dict[str, Any] = {"n": len(runs), "runs": names, "multiplier": multiplier,
                           "floor": floor, "max_rel_dev": {}, "rtol": {}, "band": {},
                           "final": {}}
    for metric in BAND_METRICS:
        # a loss the format does not print (llm.c's eval train loss) is absent, not NaN
        if not all(golden.logged(s[metric]) for s in per_run):
            continue
        for name, s in zip(names, per_run):
            _finite_or_fail(name, metric, s[metric])
        frame = pd.concat([s[metric] for s in per_run], axis=1, join="inner")
        if frame.empty:
            continue
        band, dev = band_of(frame.sort_index())
        out["band"][metric] = band
        out["max_rel_dev"][metric] = dev
        out["rtol"][metric] = max(floor, multiplier * dev)
    if not out["band"]:
        raise GoldenError(f"the runs share no logged loss at a common step ({', '.join(names)})")
    for metric in ("train_loss", "val_loss"):
        if metric in out["band"]:
            out["final"][metric] = [float(s[metric].iloc[-1]) for s in per_run]
    if "val_loss" in out["final"]:
        f = np.array(out["final"]["val_loss"])
        dev = float(np.max(np.abs(f - f.mean())) / abs(f.mean())) if f.mean() else 0.0
        out["max_rel_dev"]["final_val_loss"] = dev
        out["rtol"]["final_val_loss"] = max(floor, multiplier * dev)
    return out


def make_seed_baseline(runs: Sequence[Run], description: str | None = None,
                       multiplier: float = DEFAULT_MULTIPLIER, floor: float = DEFAULT_FLOOR,
                       **kwargs: Any) -> dict[str, Any]:
    """A golden baseline from several seed runs: golden.make_baseline of the first run (its
    config, stride and step time), with train-loss and eval values replaced by the per-step
    means over the seeds, and the ``seeds`` section added. kwargs go to make_baseline."""
    seeds = seed_stats(runs, multiplier, floor)
    base = golden.make_baseline(runs[0], description=description or
                                f"baseline of {seeds['n']} seed runs", **kwargs)
    bands = seeds["band"]
    if base["train_loss"] is not None and "train_loss" in bands:
        kept = {s: bands["train_loss"][s][0] for s in base["train_loss"]["values"]
                if s in bands["train_loss"]}
        base["train_loss"]["values"] = kept
        base["train_loss"]["last_step"] = max(map(int, kept))
        # keep the band as small as the baseline: only the steps it stores
        bands["train_loss"] = {s: bands["train_loss"][s] for s in kept}
    else:
        base["train_loss"] = None
    columns = {"train_loss": "eval_train_loss", "val_loss": "val_loss"}
    steps = sorted(set.intersection(*[set(bands[m]) for m in columns.values() if m in bands]
                                    or [set()]), key=int)
    base["evals"] = {s: {c: bands[m][s][0] for c, m in columns.items() if m in bands}
                     for s in steps}
    base["final_val_loss"] = ({"step": int(steps[-1]),
                               "value": float(np.mean(seeds["final"]["val_loss"]))}
                              if "val_loss" in bands and steps else None)
    base["seeds"] = seeds
    return base


def validate_seeds(baseline: dict[str, Any], name: str = "baseline") -> dict[str, Any] | None:
    """The baseline's ``seeds`` section checked for shape, or None when it has none."""
    seeds = baseline.get("seeds")
    if seeds is None:
        return None
    try:
        int(seeds["n"])
        for metric, band in seeds["band"].items():
            for step, row in band.items():
                int(step)
                if len(row) != 4 or not all(math.isfinite(float(x)) for x in row):
                    raise ValueError(f"band {metric} step {step} is not 4 finite numbers")
        for metric, value in seeds["rtol"].items():
            Tolerance(float(value))
        for values in seeds["final"].values():
            [float(x) for x in values]
    except (KeyError, TypeError, ValueError, AttributeError, GoldenError) as e:
        raise GoldenError(f"{name}: malformed seeds section ({type(e).__name__}: {e})") from None
    return seeds


def band_tolerances(baseline: dict[str, Any]) -> dict[str, Tolerance]:
    """Tolerances from the seed spread for every loss metric the baseline has them for;
    empty without a seeds section. A metric without its own (final_val_loss without evals
    in common) falls back to val_loss's."""
    seeds = baseline.get("seeds") or {}
    rtol = dict(seeds.get("rtol") or {})
    if "final_val_loss" not in rtol and "val_loss" in rtol:
        rtol["final_val_loss"] = rtol["val_loss"]
    return {m: Tolerance(float(v)) for m, v in rtol.items()}


# ---------------------------------------------------------------------------- band check

@dataclass(frozen=True)
class Excursion:
    """Consecutive band steps where a run is outside mean +- rtol * |mean|."""
    metric: str
    first_step: int
    last_step: int
    points: int
    worst_step: int
    worst_value: float
    worst_mean: float
    side: str   # "above" (worse loss) or "below"

    def message(self) -> str:
        where = (f"step {self.first_step}" if self.first_step == self.last_step
                 else f"steps {self.first_step}-{self.last_step}")
        rel = (self.worst_value - self.worst_mean) / abs(self.worst_mean)
        return (f"{self.metric} leaves the band {self.side} it at {where} ({self.points} "
                f"points; worst at step {self.worst_step}: {self.worst_value:.4g} against "
                f"the seed mean {self.worst_mean:.4g}, {rel:+.1%})")


def band_excursions(series: pd.Series, band: dict[str, list[float]], rtol: float,
                    metric: str = "train_loss") -> list[Excursion]:
    """Where a run's values (indexed by step) leave mean +- rtol * |mean| of the band, as
    runs of consecutive band steps on one side. Steps the run lacks are skipped."""
    steps = sorted(int(s) for s in band)
    out: list[Excursion] = []
    current: list[tuple[int, float, float, str]] = []

    def close() -> None:
        if current:
            worst = max(current, key=lambda p: abs(p[1] - p[2]))
            out.append(Excursion(metric, current[0][0], current[-1][0], len(current),
                                 worst[0], worst[1], worst[2], current[0][3]))
            current.clear()
    for s in steps:
        if s not in series.index:
            close()
            continue
        value, mean = float(series.loc[s]), band[str(s)][0]
        allowed = rtol * abs(mean)
        side = ("above" if not math.isfinite(value) or value > mean + allowed
                else "below" if value < mean - allowed else None)
        if side is None or (current and current[-1][3] != side):
            close()
        if side is not None:
            current.append((s, value, mean, side))
    close()
    return out


def run_excursions(run: Run, baseline: dict[str, Any],
                   tolerances: dict[str, Tolerance] | None = None) -> list[Excursion]:
    """Band excursions of a run for every metric of the baseline's seeds section (with the
    band's own tolerances unless others are given)."""
    seeds = baseline.get("seeds") or {}
    tol = {**band_tolerances(baseline), **(tolerances or {})}
    series = _series(run)
    out: list[Excursion] = []
    for metric, band in (seeds.get("band") or {}).items():
        if metric in tol:
            out += band_excursions(series[metric], band, tol[metric].rtol, metric)
    return out


# ---------------------------------------------------------------------------- Welch's t-test

@dataclass(frozen=True)
class WelchResult:
    """One-sided Welch's t-test: is the candidates' mean final loss above the baseline's?"""
    metric: str
    n_baseline: int
    n_candidate: int
    mean_baseline: float
    mean_candidate: float
    t: float | None
    df: float | None
    p_value: float | None
    effect_size: float | None     # Cohen's d: mean difference / sqrt of the mean variance
    alpha: float

    @property
    def worse(self) -> bool:
        return self.p_value is not None and self.p_value < self.alpha

    def message(self) -> str:
        diff = self.mean_candidate - self.mean_baseline
        head = (f"final {self.metric}: {self.n_candidate} runs, mean {self.mean_candidate:.4f} "
                f"against {self.mean_baseline:.4f} over {self.n_baseline} seeds ({diff:+.4f})")
        if self.p_value is None:
            return head + "; no test: both groups have zero spread"
        verdict = "worse" if self.worse else "not shown worse"
        d = "" if self.effect_size is None else f", effect size d = {self.effect_size:+.2f}"
        return (f"{head}; one-sided Welch t = {self.t:.3f}, df = {self.df:.1f}, "
                f"p = {self.p_value:.3g}{d}: {verdict} at p < {self.alpha:g}")

    def to_dict(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__},
                "worse": self.worse, "message": self.message()}


def welch_worse(baseline: Sequence[float], candidate: Sequence[float],
                metric: str = "val_loss", alpha: float = DEFAULT_ALPHA) -> WelchResult:
    """One-sided Welch's t-test of H1 "candidate mean > baseline mean" (a higher loss is
    worse), with Cohen's d. Needs two or more values on each side (GoldenError otherwise).
    When neither side varies there is no test (p None) unless the means differ, which is
    then certain (p 0 or 1)."""
    from scipy import stats as sps     # the t distribution's tail, exact to double precision
    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise GoldenError(f"Welch's t-test needs two or more runs on each side "
                          f"(baseline {len(a)}, candidate {len(b)})")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise GoldenError("Welch's t-test: a final loss is not finite")
    va, vb = a.var(ddof=1), b.var(ddof=1)
    diff = float(b.mean() - a.mean())
    pooled = math.sqrt((va + vb) / 2)
    d = diff / pooled if pooled > 0 else None
    if va == 0 and vb == 0:
        p = None if diff == 0 else (0.0 if diff > 0 else 1.0)
        return WelchResult(metric, len(a), len(b), float(a.mean()), float(b.mean()), None,
                           None, p, d, alpha)
    res = sps.ttest_ind(b, a, equal_var=False, alternative="greater")
    se2 = va / len(a) + vb / len(b)
    df = se2 ** 2 / ((va / len(a)) ** 2 / (len(a) - 1) + (vb / len(b)) ** 2 / (len(b) - 1))
    return WelchResult(metric, len(a), len(b), float(a.mean()), float(b.mean()),
                       float(res.statistic), float(df), float(res.pvalue), d, alpha)


def final_values(run: Run) -> dict[str, float]:
    """A run's final train loss and final val loss (where it has evals)."""
    s = _series(run)
    return {m: float(s[m].iloc[-1]) for m in ("train_loss", "val_loss")
            if golden.logged(s[m])}


def welch_for_runs(runs: Sequence[Run], baseline: dict[str, Any],
                   alpha: float = DEFAULT_ALPHA) -> WelchResult | None:
    """The test on final val loss (train loss without evals) of several new runs against the
    baseline's seeds; None when either side has fewer than two values."""
    seeds = baseline.get("seeds") or {}
    finals = [final_values(r) for r in runs]
    for metric in ("val_loss", "train_loss"):
        base = (seeds.get("final") or {}).get(metric) or []
        cand = [f[metric] for f in finals if metric in f]
        if len(base) >= 2 and len(cand) == len(runs) >= 2:
            return welch_worse(base, cand, metric, alpha)
    return None


# ---------------------------------------------------------------------------- several runs

@dataclass
class SeedCheck:
    """golden.check of each run, with the band excursions and, for several runs against a
    seed baseline, the Welch test on final loss. Fails when a run fails or the test says
    the runs are worse."""
    results: list[Any]                      # golden.CheckResult, one per run
    excursions: dict[str, list[Excursion]]
    welch: WelchResult | None
    tolerance_source: str                   # "seed spread", "explicit --rtol" or "defaults"
    seeds: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results) and not (self.welch and self.welch.worse)


def check_runs(runs: Sequence[Run], baseline: dict[str, Any],
               tolerances: dict[str, Tolerance] | None = None,
               explicit: frozenset[str] | set[str] = frozenset(),
               alpha: float = DEFAULT_ALPHA, **check_kwargs: Any) -> SeedCheck:
    """Check each run against the baseline. With a seeds section, every loss metric not in
    ``explicit`` (the metrics given with --rtol/--atol) takes its tolerance from the seed
    spread. check_kwargs go to golden.check (mode, smoothing, direction, ...)."""
    if not runs:
        raise GoldenError("no run to check")
    seeds = validate_seeds(baseline)
    if seeds is not None and check_kwargs.get("mode") == "exact":
        raise GoldenError("a seed-band baseline holds per-step means, which no run matches "
                          "bit for bit; exact mode needs a baseline from one run")
    tol = dict(tolerances or golden.DEFAULT_TOLERANCES)
    band = {m: t for m, t in band_tolerances(baseline).items() if m not in explicit}
    tol.update(band)
    source = ("seed spread" if band else "explicit --rtol" if explicit and seeds
              else "defaults")
    results = [golden.check(r, baseline, tol, **check_kwargs) for r in runs]
    excursions = ({run_name(r, i): run_excursions(r, baseline, tol) for i, r in enumerate(runs)}
                  if seeds else {})
    welch = welch_for_runs(runs, baseline, alpha) if seeds and len(runs) > 1 else None
    return SeedCheck(results, excursions, welch, source, seeds)


# ---------------------------------------------------------------------------- picture

def save_band_png(baseline: dict[str, Any], runs: Sequence[Run], path: str,
                  tolerances: dict[str, Tolerance] | None = None) -> str:
    """Write band_png's picture to path; returns path."""
    with open(path, "wb") as f:
        f.write(band_png(baseline, runs, tolerances))
    return path


def band_png(baseline: dict[str, Any], runs: Sequence[Run],
             tolerances: dict[str, Tolerance] | None = None) -> bytes:
    """A PNG of the train-loss band (seed min-max and the tolerance around the mean; the
    baseline curve alone for a one-run baseline), the val-loss band, and each run."""
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tol = {**golden.DEFAULT_TOLERANCES, **band_tolerances(baseline), **(tolerances or {})}
    bands = (baseline.get("seeds") or {}).get("band") or {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    for ax, metric in zip(axes, ("train_loss", "val_loss")):
        band = bands.get(metric)
        if band is None:     # a one-run baseline: its own values are the "mean"
            band = ({s: [v, 0, v, v] for s, v in
                     (baseline["train_loss"] or {}).get("values", {}).items()}
                    if metric == "train_loss" else
                    {s: [r["val_loss"], 0, r["val_loss"], r["val_loss"]]
                     for s, r in baseline["evals"].items() if "val_loss" in r})
        steps = sorted(int(s) for s in band)
        rows = np.array([band[str(s)] for s in steps]) if steps else np.zeros((0, 4))
        if len(rows):
            allowed = tol[metric].rtol * np.abs(rows[:, 0])
            ax.fill_between(steps, rows[:, 0] - allowed, rows[:, 0] + allowed, color="C0",
                            alpha=0.15, lw=0, label=f"tolerance ({tol[metric]})")
            ax.fill_between(steps, rows[:, 2], rows[:, 3], color="C0", alpha=0.35, lw=0,
                            label="seed min-max")
            ax.plot(steps, rows[:, 0], color="C0", lw=1, label="baseline mean")
        for i, run in enumerate(runs):
            s = _series(run)[metric]
            ax.plot(s.index, s.to_numpy(dtype=float), color=f"C{i + 1}", lw=0.9,
                    marker="o" if metric == "val_loss" else None, ms=3, label=run_name(run, i))
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
