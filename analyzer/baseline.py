"""Baselines (golden files) of the CI regression check: made from a run, written, read back.

A baseline is a small JSON document (docs/ci-check.md) that reads well in a pull-request diff:

    format, version, description, source   what it is and where it came from
    config                                  the settings that shape the curve (for reports)
    train_loss                              train loss at every ``every``-th step, and last_step
                                            (null: the log prints no train loss)
    evals                                   eval train/val loss per eval step (those printed)
    final_val_loss                          val loss of the last eval, with its step
    step_time_ms                            median step time without warm-up and eval steps

Also the readers of a run that the check (analyzer/golden.py) shares: the train-loss series,
the eval table and the step time of the last run in a file. Pure library: no printing.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

import pandas as pd

from analyzer.run import Run

FORMAT = "gptscope-golden"
VERSION = 1
EVAL_LOSSES = ("train_loss", "val_loss")   # columns of an eval, as the baseline names them
# Settings that never change a loss curve: left out of the fingerprint, so that moving the
# output directory or the logging does not show up as a "different config".
IGNORED_CONFIG = frozenset({"out_dir", "run_id", "log_dir", "logs_dir", "log_interval",
                            "always_save_checkpoint", "wandb_log", "wandb_project",
                            "wandb_run_name", "stdout", "quiet", "verbose", "dashboard",
                            "peak_tflops", "save_on_interrupt"})
RUNTIME_KEYS = ("device", "dtype", "world_size", "torch_version")


class GoldenError(ValueError):
    """Input that cannot be used: an unreadable baseline, a run with nothing to compare."""


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
