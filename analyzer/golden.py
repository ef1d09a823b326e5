"""Golden-curve regression checks: a baseline (golden) file from one run, a check of another.

Two styles, as the field uses them: torchtitan compares a deterministic run bit for bit
(``mode="exact"``); Megatron-LM keeps golden loss values and compares them with a relative
tolerance (``mode="tolerance"``). A baseline is a small JSON document (see ``dumps_baseline``
and docs/ci-check.md) that reads well in a pull-request diff:

    format, version, description, source   what it is and where it came from
    config                                  the settings that shape the curve (for reports)
    train_loss                              train loss at every ``every``-th step, and last_step
    evals                                   eval train/val loss per eval step
    final_val_loss                          val loss of the last eval, with its step
    step_time_ms                            median step time without warm-up and eval steps

Pure library: no printing. The CLI (analyzer/cli_golden.py) is a thin layer over it.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analyzer.run import Run

FORMAT = "gptscope-golden"
VERSION = 1
LOSS_METRICS = ("train_loss", "eval_train_loss", "val_loss", "final_val_loss")
EVAL_LOSSES = ("train_loss", "val_loss")   # columns of an eval, as the baseline names them
METRICS = LOSS_METRICS + ("step_time",)
MODES = ("exact", "tolerance")
DIRECTIONS = ("both", "worse")
# Settings that never change a loss curve: left out of the fingerprint, so that moving the
# output directory or the logging does not show up as a "different config".
IGNORED_CONFIG = frozenset({"out_dir", "run_id", "log_dir", "logs_dir", "log_interval",
                            "always_save_checkpoint", "wandb_log", "wandb_project",
                            "wandb_run_name", "stdout", "quiet", "verbose", "dashboard",
                            "peak_tflops", "save_on_interrupt"})
RUNTIME_KEYS = ("device", "dtype", "world_size", "torch_version")


class GoldenError(ValueError):
    """Input that cannot be used: an unreadable baseline, a run with nothing to compare."""


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


# ---------------------------------------------------------------------------- reading a run

def _last_run(df: pd.DataFrame, run: Run) -> pd.DataFrame:
    """Rows of the last run in the file (its resumes included), one per step.

    A resumed segment replays steps from its checkpoint: the later value wins, as it is the
    one the final model went through. An earlier run_start in the same file is another run.
    """
    starts = [s["segment"] for s in run.segments if s.get("kind") == "run_start"]
    df = df[df["segment"] >= (starts[-1] if starts else 0)].dropna(subset=["step"])
    df = df.sort_values(["segment", "step"], kind="stable")
    return df.drop_duplicates("step", keep="last").sort_values("step", kind="stable")


def logged(values: pd.Series) -> bool:
    """Whether a log prints this loss at all. In a Run, NaN is both "not finite" and "not
    printed" (llm.c has no train-side eval, some modded-nanogpt records no train loss); a
    column without a single number is one the format does not have, not a diverged run."""
    return bool(values.notna().any())


def train_loss_series(run: Run) -> pd.Series:
    """Train loss by step (NaN where it was not finite), of the last run in the file."""
    it = _last_run(run.iters, run)
    return pd.Series(it["loss"].to_numpy(dtype=float), index=it["step"].astype(int).to_numpy(),
                     name="train_loss")


def eval_table(run: Run) -> pd.DataFrame:
    """Eval losses indexed by step (columns train_loss, val_loss), of the last run."""
    ev = _last_run(run.evals, run)
    return pd.DataFrame({"train_loss": ev["train_loss"].to_numpy(dtype=float),
                         "val_loss": ev["val_loss"].to_numpy(dtype=float)},
                        index=ev["step"].astype(int).to_numpy())


def step_time(run: Run, warmup: int | None = None) -> dict[str, Any]:
    """Median time of a training step, without warm-up and without eval-inclusive iterations.

    step_ms (the step alone) is used where the log has it, else dt_ms (nanoGPT's ``time``).
    Iterations at an eval step are dropped even if the log does not flag them: nanoGPT's dt
    of that iteration includes the eval. warmup: number of first logged iterations to drop
    (compile, allocator and cache warm-up); default 10% of them, at least 1.
    """
    it = _last_run(run.iters, run)
    column = "step_ms" if it["step_ms"].notna().any() else "dt_ms"
    if warmup is None:
        warmup = max(1, math.ceil(0.1 * len(it)))
    rest = it.iloc[warmup:]
    evals = set(_last_run(run.evals, run)["step"].astype(int))
    keep = ~rest["eval_inclusive"] & ~rest["step"].astype(int).isin(evals)
    times = rest.loc[keep, column].dropna()
    times = times[times.map(math.isfinite)]
    median = float(times.median()) if len(times) else None
    return {"median": median, "column": column, "n": int(len(times)),
            "warmup_excluded": int(warmup), "eval_excluded": int((~keep).sum())}


def config_fingerprint(run: Run) -> dict[str, Any]:
    """The settings that shape a loss curve: training config, model shape, runtime."""
    meta = run.meta or {}
    # null means "not known" (a foreign log that does not print it), not a setting
    config = {k: v for k, v in sorted((meta.get("config") or {}).items())
              if k not in IGNORED_CONFIG and not k.startswith("wandb") and v is not None}
    # n_params follows from the shape, and stdout logs round it ("0.10M")
    model = {k: v for k, v in sorted((meta.get("model") or {}).items())
             if v is not None and k != "n_params"}
    runtime = {k: meta[k] for k in RUNTIME_KEYS if meta.get(k) not in (None, "unknown")}
    return {"config": config, "model": model, "runtime": runtime}


# ---------------------------------------------------------------------------- the baseline

def _nice_every(n_steps: int, span: int, max_points: int) -> int:
    """Smallest of 1, 2, 5, 10, 20, 50, ... keeping about max_points steps of the span."""
    every, scale = 1, 1
    while min(n_steps, span // every + 1) > max_points:
        for f in (2, 5, 10):
            every = f * scale
            if min(n_steps, span // every + 1) <= max_points:
                return every
        scale *= 10
    return every


def _first_nonfinite(values: pd.Series) -> Any:
    bad = values[~values.map(math.isfinite)]
    return bad.index[0] if len(bad) else None


def _baseline_train_loss(loss: pd.Series, every: int | None, max_points: int,
                         where: str) -> dict[str, Any] | None:
    """The train-loss part of a baseline; None when the log prints no train loss."""
    if not logged(loss):
        return None
    bad = _first_nonfinite(loss)
    if bad is not None:
        raise GoldenError(f"{where}: train loss is not finite at step {bad} "
                          f"({int((~loss.map(math.isfinite)).sum())} steps); a diverged run "
                          "makes no baseline")
    last = int(loss.index[-1])
    if every is None:
        every = _nice_every(len(loss), last - int(loss.index[0]), max_points)
    if every < 1:
        raise GoldenError(f"every must be >= 1, got {every}")
    kept = loss[(loss.index % every == 0) | (loss.index == last)]
    return {"every": every, "last_step": last,
            "values": {str(s): float(v) for s, v in kept.items()}}


def _baseline_evals(evals: pd.DataFrame, where: str) -> dict[str, dict[str, float]]:
    """Eval losses by step, with the columns the log prints (llm.c, build-nanogpt and
    modded-nanogpt print only a val loss: an absent train-side eval is not a NaN)."""
    columns = [c for c in EVAL_LOSSES if logged(evals[c])]
    for c in columns:
        bad = _first_nonfinite(evals[c])
        if bad is not None:
            raise GoldenError(f"{where}: eval {c} is not finite at step {bad}; a diverged run "
                              "makes no baseline")
    return {str(s): {c: float(r[c]) for c in columns} for s, r in evals.iterrows()
            if columns}


def make_baseline(run: Run, every: int | None = None, max_points: int = 200,
                  warmup: int | None = None, description: str | None = None) -> dict[str, Any]:
    """A baseline (golden) dict from a run: see the module docstring for its keys.

    every: keep the train loss at steps that are multiples of it (plus the last step);
    default: every logged step if there are at most max_points, else a round stride.
    What the log does not print is left out (train_loss is None for a log without train
    losses, eval rows hold only the losses printed). Raises GoldenError for a run with no
    loss at all, or a non-finite one.
    """
    where = run.source or "run"
    if run.iters.empty and run.evals.empty:
        raise GoldenError(f"{where}: no training iterations to make a baseline from")
    train = _baseline_train_loss(train_loss_series(run), every, max_points, where)
    evals = eval_table(run)
    rows = _baseline_evals(evals, where)
    if train is None and not rows:
        raise GoldenError(f"{where}: no train or eval loss to make a baseline from")
    final = ({"step": int(evals.index[-1]), "value": float(evals["val_loss"].iloc[-1])}
             if rows and "val_loss" in next(iter(rows.values())) else None)
    meta = run.meta or {}
    return {
        "format": FORMAT,
        "version": VERSION,
        "description": description or f"baseline of {run.name}",
        "source": {"file": os.path.basename(where) if run.source else None,
                   "format": run.format, "run_id": meta.get("run_id")},
        "config": config_fingerprint(run),
        "train_loss": train,
        "evals": rows,
        "final_val_loss": final,
        "step_time_ms": step_time(run, warmup),
    }


def _render(value: Any, indent: int) -> str:
    """JSON with one entry per line, except small objects that fit on one line: a baseline
    diff then shows exactly the steps whose loss moved."""
    flat = json.dumps(value, allow_nan=False, separators=(", ", ": "))
    if not isinstance(value, dict) or not value or indent + len(flat) <= 92 and not any(
            isinstance(v, dict) and len(v) > 3 for v in value.values()):
        return flat
    pad = " " * (indent + 2)
    items = [f"{pad}{json.dumps(k)}: {_render(v, indent + 2)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def dumps_baseline(baseline: dict[str, Any]) -> str:
    """The baseline as stable, reviewable JSON text (keys in the order make_baseline uses)."""
    return _render(baseline, 0) + "\n"


def loads_baseline(text: str, name: str = "baseline") -> dict[str, Any]:
    """Parse and validate a baseline file's text; GoldenError names the file and problem."""
    if _looks_like_events(text):
        raise GoldenError(f"{name}: an events file (a run's JSONL), not a baseline; make "
                          f"one with `python -m analyzer golden {name} -o baseline.json`")
    try:
        b = json.loads(text)
    except ValueError as e:
        raise GoldenError(f"{name}: line {getattr(e, 'lineno', '?')}: not JSON "
                          f"({getattr(e, 'msg', e)}), not a gptscope baseline") from None
    if not isinstance(b, dict) or b.get("format") != FORMAT:
        raise GoldenError(f"{name}: not a gptscope baseline (format should be {FORMAT!r})")
    if b.get("version") != VERSION:
        raise GoldenError(f"{name}: baseline version {b.get('version')!r} is not supported "
                          f"(this gptscope reads version {VERSION})")
    try:
        losses = _baseline_losses(b)
        if b["final_val_loss"] is not None:
            int(b["final_val_loss"]["step"]), float(b["final_val_loss"]["value"])
        b["step_time_ms"]["median"], b["config"]["config"]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise GoldenError(f"{name}: malformed baseline ({type(e).__name__}: {e})") from None
    if not losses:
        raise GoldenError(f"{name}: baseline has no loss values")
    if not all(map(math.isfinite, losses)):
        raise GoldenError(f"{name}: baseline holds a non-finite loss")
    return b


def _looks_like_events(text: str) -> bool:
    """The first line is one gptscope event (an events.jsonl or a `parse` output)."""
    first = text.lstrip()[:4096].split("\n", 1)[0]
    try:
        event = json.loads(first)
    except ValueError:
        return False
    return isinstance(event, dict) and "type" in event and "run_id" in event


def _baseline_losses(b: dict[str, Any]) -> list[float]:
    """Every loss of a baseline; KeyError/TypeError/ValueError when malformed. train_loss
    is null and eval rows lack a loss where the log did not print it."""
    out: list[float] = []
    tl = b["train_loss"]
    if tl is not None:
        int(tl["last_step"])
        for step, value in tl["values"].items():
            int(step)
            out.append(float(value))
        if not tl["values"]:
            raise ValueError("train_loss has no values (null when the log has none)")
    for step, row in b["evals"].items():
        int(step)
        if not row or set(row) - set(EVAL_LOSSES):
            raise ValueError(f"eval at step {step}: expected {' and/or '.join(EVAL_LOSSES)}")
        out += [float(v) for v in row.values()]
    return out


def read_baseline(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise GoldenError(f"{path}: cannot read baseline ({e.strerror})") from None
    return loads_baseline(text, path)


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
