"""What the diagnostics say about every fixture log, to check that a faster implementation
says exactly the same (issue #11: run_all on a 1M-iteration run in <= 0.3 s).

    python -m tests.analyzer._diag_snapshot     # rewrite tests/data/snapshots/findings.json

Run it only when a change of findings is intended (and say why in the commit). The file was
first written by the code before the rewrite (commit 1f2aa93);
tests/analyzer/test_diag_snapshot.py checks that run_all, each diagnostic called on its own,
``stats.summarize`` and the per-row masks of ``analyzer.stats`` all still give it.

Besides the logs under tests/data it covers a few synthetic runs (seeded, built here) that
reach what the real logs do not: several segments with repeated and missing steps, a
straggler rank, gradient anomalies, a plateau, a throughput drop and a step-time creep.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

import analyzer
from analyzer import stats
from analyzer.diagnostics import DiagnosticsConfig, run_all
from analyzer.diagnostics.timing import spike_rows
from analyzer.run import Run
from gptscope.schema import make_event

DATA = Path(__file__).resolve().parents[1] / "data"
SNAPSHOT = DATA / "snapshots" / "findings.json"
SKIP_SUFFIXES = {".md", ".toml", ".json"}  # notes beside the logs; trainer_state.json is a log


def fixture_logs() -> list[Path]:
    """Every log under tests/data (notes and the snapshots themselves left out)."""
    return [p for p in sorted(DATA.rglob("*"))
            if p.is_file() and "snapshots" not in p.parts
            and (p.suffix not in SKIP_SUFFIXES or p.name.endswith("trainer_state.json"))]


# ------------------------------------------------------------------ synthetic runs

def _it(step: int | None, **fields: Any) -> dict[str, Any]:
    return make_event("iter", "s", step, float(step or 0), **fields)


def _start(**meta: Any) -> dict[str, Any]:
    fields = dict(config=meta.pop("config", {}), model=meta.pop("model", {}), device="cuda",
                  dtype="bfloat16", world_size=1, peak_flops_source="unknown",
                  source="gptscope")
    fields.update(meta)
    return make_event("run_start", "s", 0, 0.0, **fields)


def _spiky() -> Run:
    """Loss spikes of every kind, a grad-norm rise, periodic timing spikes, evals whose time
    lands in the next iteration, checkpoints, a resume with repeated steps and a null step."""
    rng = np.random.default_rng(11)
    ev: list[dict[str, Any]] = [_start(config={"warmup_iters": 200, "eval_interval": 500,
                                               "checkpoint_interval": 250},
                                       model={"n_params": 10e6})]
    n = 3000
    loss = 4.0 * np.exp(-np.arange(n) / 800) + 1.5 + rng.normal(0, 0.01, n)
    loss[3] *= 2.5                       # early jump, judged by its neighbours
    loss[700:706] *= 1.6                 # a spike that lasts, then recovers
    loss[1200] *= 1.5                    # single-step outliers
    loss[2100] *= 1.7
    grad = 1.0 + rng.normal(0, 0.05, n)
    grad[690:700] *= np.linspace(2, 6, 10)
    dt = 100 + rng.normal(0, 2, n)
    dt[50::100] *= 5                     # something every 100 steps
    lr = np.minimum(np.arange(n) / 200, 1.0) * 6e-4
    for s in range(n):
        if s % 500 == 0:
            ev.append(make_event("eval", "s", s, float(s), train_loss=float(loss[s]),
                                 val_loss=float(loss[s]) + 0.05 + (s > 1500) * 0.5 * (s - 1500) / 500))
        if s % 250 == 0 and s:
            ev.append(make_event("checkpoint", "s", s, float(s), path=f"ck{s}.pt"))
        extra = 20000.0 if s % 500 == 0 and s else 0.0
        ev.append(_it(s, loss=float(loss[s]), dt_ms=float(dt[s] + extra), lr=float(lr[s]),
                      grad_norm=float(grad[s]), tokens_per_s=1e5 / float(dt[s]),
                      mfu=0.3 * 100 / float(dt[s])))
    ev.append(make_event("resume", "s", 2800, 3000.0, from_step=2800))
    ev.append(_it(None, loss=1.6, dt_ms=100.0))
    for s in range(2800, 3600):
        ev.append(_it(s, loss=float(1.6 + rng.normal(0, 0.01)), dt_ms=float(100 + s % 7),
                      lr=6e-4, grad_norm=1.0))
    ev.append(_it(2900, loss=1.61, dt_ms=100.0))   # a repeated step, out of order
    return Run.from_events(ev, format="gptscope")


def _broken() -> Run:
    """NaN losses that recover, then a divergence; gradient anomalies; float16 loss scale."""
    rng = np.random.default_rng(12)
    ev: list[dict[str, Any]] = [_start(dtype="float16")]
    n = 1500
    loss = 3.0 - np.arange(n) / 1000 + rng.normal(0, 0.01, n)
    loss[1300:] *= np.linspace(1, 3, n - 1300)
    for s in range(n):
        bad = 600 <= s < 604
        ev.append(_it(s, loss=None if bad else float(loss[s]), dt_ms=float(50 + rng.normal()),
                      lr=3e-4, grad_norm=float(1 + rng.normal(0, 0.1))))
        if s in (300, 301, 900):
            ev.append(make_event("anomaly", "s", s, float(s), kind="nonfinite_grad",
                                 value="inf", action="skip"))
        if s % 100 == 0:
            ev.append(make_event("metric", "s", s, float(s), name="loss_scale",
                                 value=65536.0 / (2 if s >= 500 else 1)))
    ev.append(make_event("run_end", "s", n - 1, float(n), status="failed",
                         error="RuntimeError: CUDA out of memory"))
    return Run.from_events(ev, format="gptscope")


def _slow() -> Run:
    """Step times logged alone (step_ms, no dt_ms, as llm.c), every 10 steps: a creep, a
    throughput drop, a straggler rank and a plateau at a high learning rate; then a second
    run in the same file."""
    rng = np.random.default_rng(13)
    ev: list[dict[str, Any]] = [_start(world_size=4)]
    n = 1200
    for k in range(n):
        s = 10 * k
        ms = 200 * (1 + k / n) * (1.6 if 500 <= k < 650 else 1.0) + rng.normal(0, 1)
        ev.append(_it(s, loss=float(2.0 + rng.normal(0, 0.01)), step_ms=float(ms), lr=1e-3,
                      tokens_per_s=5e7 / ms, step_ms_min=float(ms * 0.8),
                      step_ms_max=float(ms), slowest_rank=int(k % 5 != 0) * 3))
        if k % 200 == 0:
            ev.append(make_event("eval", "s", s, float(s), val_loss=2.1, eval_ms=900.0))
    ev.append(_start(world_size=1))
    for s in range(12):
        ev.append(_it(s, loss=5.0 - s / 10, dt_ms=30.0 + s, mfu=0.9))
    return Run.from_events(ev, format="gptscope")


SYNTHETIC: dict[str, Callable[[], Run]] = {"synthetic/spiky": _spiky,
                                           "synthetic/broken": _broken,
                                           "synthetic/slow": _slow}


# ------------------------------------------------------------------ the snapshot

def _mask_print(run: Run, config: DiagnosticsConfig) -> dict[str, Any]:
    """Counts and one checksum per per-row result of analyzer.stats and spike_rows."""
    w = config.warmup_steps
    masks = {"eval_inclusive": stats.eval_inclusive(run), "warmup": stats.warmup(run, w),
             "first_rows": stats.first_rows(run), "eval_spike_rows": stats.eval_spike_rows(run),
             "clean": stats.clean(run, w), "steady": stats.steady(run, w)}
    spike, base = spike_rows(run, config)
    masks["timing_spike"] = spike
    out: dict[str, Any] = {}
    for name, m in masks.items():
        rows = np.flatnonzero(m.to_numpy(dtype=bool))
        out[name] = [int(len(rows)), int((rows * 7919 % 1000003).sum())]
    b = base.to_numpy(dtype=float)
    out["timing_base_sum"] = float(np.nansum(b))
    return out


def snapshot_of(run: Run) -> dict[str, Any]:
    """What must not change for one run: its findings, its summary and its row masks."""
    config = DiagnosticsConfig()
    summary = json.loads(json.dumps(stats.summarize(run), default=str))
    summary.pop("source", None)  # the file's path: where the checkout is, not the run
    return {"findings": [f.to_dict() for f in run_all(run, config)], "summary": summary,
            "masks": _mask_print(run, config)}


def all_runs() -> dict[str, Callable[[], Run]]:
    """Name -> a function that builds the run (logs that fail to load are left out)."""
    out: dict[str, Callable[[], Run]] = {}
    for p in fixture_logs():
        try:
            analyzer.load(p)
        except Exception:  # noqa: BLE001 - a log the reader refuses has no findings
            continue
        out[p.relative_to(DATA).as_posix()] = lambda p=p: analyzer.load(p)
    out.update(SYNTHETIC)
    return out


def build() -> dict[str, Any]:
    return {name: snapshot_of(make()) for name, make in all_runs().items()}


def same(a: Any, b: Any, rel: float = 1e-12) -> bool:
    """Equal, floats to ``rel`` (summation order may move the last bit)."""
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return a == b or (math.isfinite(a) and abs(a - b) <= rel * max(abs(a), abs(b)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b))
    if isinstance(b, float) and isinstance(a, int) and not isinstance(a, bool):
        return same(b, a, rel)
    return a == b


if __name__ == "__main__":
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}")
