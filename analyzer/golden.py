"""Golden-curve regression checks: a run compared with a baseline (golden) file.

Two styles, as the field uses them: torchtitan compares a deterministic run bit for bit
(``mode="exact"``); Megatron-LM keeps golden loss values and compares them with a relative
tolerance (``mode="tolerance"``). Baselines are made, written and read by analyzer/baseline.py;
its functions are importable from here too (``golden.make_baseline``), so that the check's
API is one module for its users.

Pure library: no printing. The CLI (analyzer/cli/golden.py, check.py) is a thin layer over it.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analyzer.baseline import (EVAL_LOSSES, FORMAT, IGNORED_CONFIG, RUNTIME_KEYS, VERSION,
                               GoldenError, config_fingerprint, dumps_baseline, eval_table,
                               loads_baseline, logged, make_baseline, read_baseline, step_time,
                               train_loss_series)
from analyzer.run import Run

__all__ = ["CheckResult", "DEFAULT_TOLERANCES", "DIRECTIONS", "EVAL_LOSSES", "FORMAT",
           "GoldenError", "IGNORED_CONFIG", "LOSS_METRICS", "METRICS", "MODES", "MetricSummary",
           "Problem", "RUNTIME_KEYS", "Row", "Tolerance", "VERSION", "check",
           "config_fingerprint", "dumps_baseline", "eval_table", "loads_baseline", "logged",
           "make_baseline", "make_tolerances", "read_baseline", "same_number", "step_time",
           "train_loss_series"]

LOSS_METRICS = ("train_loss", "eval_train_loss", "val_loss", "final_val_loss")
METRICS = LOSS_METRICS + ("step_time",)
MODES = ("exact", "tolerance")
DIRECTIONS = ("both", "worse")


@dataclass(frozen=True)
class Tolerance:
    """|run - baseline| <= atol + rtol * |baseline| passes (numpy.isclose's rule)."""
    rtol: float
    """relative tolerance, as a fraction of the baseline value (0.02 = 2%)"""
    atol: float = 0.0
    """absolute tolerance, in the metric's unit (loss, or milliseconds for step_time)"""

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise GoldenError(f"{name} must be a finite number >= 0, got {value!r}")

    def allowed(self, baseline: float) -> float:
        return self.atol + self.rtol * abs(baseline)

    def __str__(self) -> str:
        parts = [f"rtol {self.rtol:g}"] + ([f"atol {self.atol:g}"] if self.atol else [])
        return " + ".join(parts)


DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    **{m: Tolerance(0.02) for m in LOSS_METRICS},
    "step_time": Tolerance(0.5),   # CI machines differ: only checked when asked
}


def make_tolerances(rtol: dict[str, float] | None = None,
                    atol: dict[str, float] | None = None) -> dict[str, Tolerance]:
    """Defaults overridden per metric; the name ``loss`` sets all four loss metrics."""
    out = dict(DEFAULT_TOLERANCES)
    for kind, given in (("rtol", rtol or {}), ("atol", atol or {})):
        for name, value in given.items():
            targets = LOSS_METRICS if name == "loss" else (name,)
            if targets[0] not in METRICS:
                raise GoldenError(f"--{kind}: unknown metric {name!r} (one of loss, "
                                  f"{', '.join(METRICS)})")
            for m in targets:
                out[m] = Tolerance(**{**asdict(out[m]), kind: value})
    return out


# ---------------------------------------------------------------------------- the check

@dataclass
class Row:
    """One compared point. status: ok, fail (outside tolerance / not equal), missing (the
    run has no value at this step), nan (the run's value is not finite)."""
    metric: str
    step: int | None
    baseline: float | None
    candidate: float | None
    status: str
    allowed: float | None = None    # the tolerance at this point (0 in exact mode)

    @property
    def diff(self) -> float | None:
        if self.baseline is None or self.candidate is None or not math.isfinite(self.candidate):
            return None
        return self.candidate - self.baseline

    @property
    def rel_diff(self) -> float | None:
        d = self.diff
        return None if d is None or self.baseline == 0 else d / abs(self.baseline)

    def to_dict(self) -> dict[str, Any]:
        c = self.candidate
        return {"metric": self.metric, "step": self.step, "baseline": self.baseline,
                "candidate": c if c is None or math.isfinite(c) else str(c),
                "diff": self.diff, "rel_diff": self.rel_diff, "allowed": self.allowed,
                "status": self.status}


@dataclass
class Problem:
    """A finding about the run as a whole. fatal ones make the check fail on their own."""
    kind: str   # missing_steps, shorter_run, longer_run, nan, no_evals, no_train_loss, config,
    #             runtime, step_time
    message: str
    fatal: bool


@dataclass
class MetricSummary:
    metric: str
    compared: int
    failed: int
    max_abs_diff: float | None
    max_rel_diff: float | None
    worst_step: int | None
    tolerance: str


@dataclass
class CheckResult:
    mode: str
    smoothing: int
    direction: str
    tolerances: dict[str, Tolerance]
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    baseline_name: str | None = None
    run_name: str | None = None

    @property
    def passed(self) -> bool:
        return (all(r.status == "ok" for r in self.rows)
                and not any(p.fatal for p in self.problems))

    @property
    def status(self) -> str:
        return "pass" if self.passed else "regression"

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.status != "ok"]

    def summary(self) -> list[MetricSummary]:
        """Per metric: points compared and failed, the largest deviation and where."""
        out = []
        for m in METRICS:
            rows = [r for r in self.rows if r.metric == m]
            if not rows:
                continue
            diffs = [r for r in rows if r.diff is not None]
            worst = max(diffs, key=lambda r: abs(r.diff), default=None)
            worst = worst if worst is not None and worst.diff != 0 else None
            rels = [abs(r.rel_diff) for r in diffs if r.rel_diff is not None]
            tol = "equal" if self.mode == "exact" and m != "step_time" else str(
                self.tolerances[m])
            out.append(MetricSummary(m, len(rows), sum(r.status != "ok" for r in rows),
                                     abs(worst.diff) if worst else (0.0 if diffs else None),
                                     max(rels) if rels else None,
                                     worst.step if worst else None, tol))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "mode": self.mode, "smoothing": self.smoothing,
                "direction": self.direction, "baseline": self.baseline_name,
                "run": self.run_name,
                "tolerances": {k: asdict(v) for k, v in self.tolerances.items()},
                "problems": [asdict(p) for p in self.problems],
                "metrics": [asdict(s) for s in self.summary()],
                "rows": [r.to_dict() for r in self.rows]}


def _ranges(steps: list[int], among: list[int], limit: int = 6) -> str:
    """Steps as ranges of neighbours in `among` (the baseline's steps, which may be every
    10th): [3, 4, 5, 9] -> '3-5, 9'; cut after `limit` parts."""
    pos = {s: i for i, s in enumerate(among)}
    parts: list[list[int]] = []
    for s in steps:
        if parts and pos[s] - pos[parts[-1][1]] == 1:
            parts[-1][1] = s
        else:
            parts.append([s, s])
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in parts[:limit]]
    return ", ".join(text) + (f", ... ({len(parts) - limit} more)" if len(parts) > limit else "")


def same_number(a: float, b: float) -> bool:
    """Exact equality of two losses as numbers, whatever digits their text kept. Losses are
    float32 values: the trainer writes 9 significant digits (enough to round-trip a
    float32), an older baseline the float64 repr of the same float32, so both are compared
    as the float32 they stand for."""
    return a == b or bool(np.float32(a) == np.float32(b))


def _compare(metric: str, step: int | None, base: float, cand: float | None, mode: str,
             tol: Tolerance, direction: str) -> Row:
    if cand is None:
        return Row(metric, step, base, None, "missing")
    if not math.isfinite(cand):
        return Row(metric, step, base, cand, "nan")
    if mode == "exact" and metric != "step_time":
        return Row(metric, step, base, cand, "ok" if same_number(cand, base) else "fail", 0.0)
    allowed, d = tol.allowed(base), cand - base
    # A loss far *below* the baseline fails too (unless direction="worse"): it usually means
    # the model sees what it should predict, e.g. a lost causal mask. Faster steps never fail.
    two_sided = direction == "both" and metric != "step_time"
    bad = d > allowed or (two_sided and d < -allowed)
    return Row(metric, step, base, cand, "fail" if bad else "ok", allowed)


def _check_train_loss(loss: pd.Series, baseline: dict[str, Any], result: CheckResult) -> None:
    tl = baseline["train_loss"]
    values = {int(s): float(v) for s, v in tl["values"].items()}
    steps = sorted(values)
    base = pd.Series([values[s] for s in steps], index=steps, dtype=float)
    present = pd.Index(steps).isin(loss.index)
    cand = loss.reindex(steps)
    if result.smoothing > 1:
        # Both curves are averaged over the same stored points, so the window means the
        # same on both sides; non-finite values are reported on their own, not averaged in.
        base = base.rolling(result.smoothing, min_periods=1).mean()
        finite = cand.where(cand.map(lambda x: math.isfinite(x)))
        smooth = finite.rolling(result.smoothing, min_periods=1).mean()
        cand = cand.where(~cand.map(lambda x: math.isfinite(x)), smooth)
    tol = result.tolerances["train_loss"]
    for s, ok, b, c in zip(steps, present, base, cand):
        result.rows.append(_compare("train_loss", s, float(b), float(c) if ok else None,
                                    result.mode, tol, result.direction))
    missing = [s for s, ok in zip(steps, present) if not ok]
    if missing:
        result.problems.append(Problem(
            "missing_steps", f"train_loss: {len(missing)} of {len(steps)} baseline steps are "
            f"not in the run: {_ranges(missing, steps)}", True))
    last, base_last = int(loss.index[-1]), int(tl["last_step"])
    if last < base_last:
        result.problems.append(Problem(
            "shorter_run", f"the run stops at step {last}, the baseline at step {base_last}",
            True))
    elif last > base_last:
        result.problems.append(Problem(
            "longer_run", f"the run goes on to step {last}; steps after the baseline's last "
            f"step {base_last} are not compared", False))
    bad = loss[~loss.map(math.isfinite)]
    if len(bad):
        result.problems.append(Problem(
            "nan", f"train loss is not finite at {len(bad)} step(s), first at step "
            f"{int(bad.index[0])}", True))


def _check_evals(evals: pd.DataFrame, baseline: dict[str, Any], result: CheckResult) -> None:
    base = {int(s): r for s, r in baseline["evals"].items()}
    if base and evals.empty:
        result.problems.append(Problem(
            "no_evals", f"the run has no evals; the baseline has {len(base)}", True))
    printed = {c for c in EVAL_LOSSES if logged(evals[c])}  # absent is missing, not NaN
    for s in sorted(base):
        here = s in evals.index
        for metric, col in (("eval_train_loss", "train_loss"), ("val_loss", "val_loss")):
            if col not in base[s]:
                continue
            cand = float(evals.at[s, col]) if here and col in printed else None
            result.rows.append(_compare(metric, s, float(base[s][col]), cand, result.mode,
                                        result.tolerances[metric], result.direction))
    final = baseline.get("final_val_loss")
    if final is not None:
        s = int(final["step"])
        cand = (float(evals.at[s, "val_loss"]) if s in evals.index and "val_loss" in printed
                else None)
        result.rows.append(_compare("final_val_loss", s, float(final["value"]), cand,
                                    result.mode, result.tolerances["final_val_loss"],
                                    result.direction))
    missing = sorted(set(base) - set(evals.index))
    if missing and not evals.empty:
        result.problems.append(Problem(
            "missing_steps", f"evals: {len(missing)} of {len(base)} baseline eval steps are "
            f"not in the run: {_ranges(missing, sorted(base))}", True))


def _check_step_time(run: Run, baseline: dict[str, Any], result: CheckResult) -> None:
    base = baseline["step_time_ms"]
    if base.get("median") is None:
        result.problems.append(Problem(
            "step_time", "the baseline has no step time; step time is not compared", False))
        return
    mine = step_time(run, int(base.get("warmup_excluded") or 0))
    result.rows.append(_compare("step_time", None, float(base["median"]), mine["median"],
                                "tolerance", result.tolerances["step_time"], "worse"))


def _diff_section(name: str, base: dict[str, Any], mine: dict[str, Any],
                  common_only: bool) -> list[str]:
    """Differences as 'config.key old -> new'. common_only: another log format records other
    keys, so a key only one side has says nothing."""
    if common_only:
        keys = [k for k in base if k in mine]
    elif base and not mine:
        return [f"{name}: not recorded in the run"]
    else:
        keys = list(base) + [k for k in mine if k not in base]
    out = []
    for k in keys:
        b, c = base.get(k, "(absent)"), mine.get(k, "(absent)")
        if b != c:
            out.append(f"{name}.{k} {json.dumps(b)} -> {json.dumps(c)}"
                       if name != "runtime" else f"{k} {b} -> {c}")
    return out


def _check_config(run: Run, baseline: dict[str, Any], strict: bool, result: CheckResult) -> None:
    base, mine = baseline["config"], config_fingerprint(run)
    common = (baseline.get("source") or {}).get("format") != run.format
    diffs = (_diff_section("config", base.get("config") or {}, mine["config"], common)
             + _diff_section("model", base.get("model") or {}, mine["model"], common))
    if diffs:
        more = f"; ... ({len(diffs) - 8} more)" if len(diffs) > 8 else ""
        result.problems.append(Problem(
            "config", "different config: " + "; ".join(diffs[:8]) + more, strict))
    runtime = _diff_section("runtime", base.get("runtime") or {}, mine["runtime"], common)
    if runtime:
        result.problems.append(Problem(
            "runtime", "different runtime: " + "; ".join(runtime), False))


def check(run: Run, baseline: dict[str, Any], tolerances: dict[str, Tolerance] | None = None,
          mode: str = "tolerance", smoothing: int = 1, check_step_time: bool = False,
          direction: str = "both", strict_config: bool = False,
          baseline_name: str | None = None) -> CheckResult:
    """Compare a run with a baseline (from make_baseline or loads_baseline).

    mode: "exact" (every loss bit-for-bit equal: deterministic runs) or "tolerance".
    smoothing: trailing mean over this many stored train-loss points, on both curves, before
    comparing (tolerance mode only). check_step_time: also compare the median step time
    (always with a tolerance, and only a slower run fails). direction: "both" fails a loss
    outside the tolerance on either side, "worse" only a higher one. strict_config: a
    different config fails the check instead of being reported. Raises GoldenError for
    settings that make no sense or a run without training iterations.
    """
    if mode not in MODES:
        raise GoldenError(f"mode must be one of {MODES}, got {mode!r}")
    if direction not in DIRECTIONS:
        raise GoldenError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if not isinstance(smoothing, int) or smoothing < 1:
        raise GoldenError(f"smoothing must be an integer >= 1, got {smoothing!r}")
    if mode == "exact" and smoothing > 1:
        raise GoldenError("smoothing has no meaning in exact mode (use --mode tolerance)")
    loss, evals = train_loss_series(run), eval_table(run)
    if loss.empty and evals.empty:
        raise GoldenError(f"{run.source or 'run'}: no training iterations to check")
    result = CheckResult(mode, smoothing, direction, {**DEFAULT_TOLERANCES, **(tolerances or {})},
                         baseline_name=baseline_name, run_name=run.source)
    _check_config(run, baseline, strict_config, result)
    if baseline["train_loss"] is None:
        if logged(loss):
            result.problems.append(Problem(
                "no_train_loss", "the baseline has no train loss (its log printed none); "
                "the run's is not compared", False))
    elif not logged(loss):
        result.problems.append(Problem(
            "no_train_loss", f"the run has no train loss; the baseline has "
            f"{len(baseline['train_loss']['values'])} points", True))
    else:
        _check_train_loss(loss, baseline, result)
    _check_evals(evals, baseline, result)
    if check_step_time:
        _check_step_time(run, baseline, result)
    return result
