"""Schema events for dashboard tests, written with gptscope.schema (no trainer needed)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from gptscope.schema import dumps, make_event

T0 = 1_700_000_000.0


def start(run_id: str, time: float = T0, tokens_per_iter: int | None = 1024,
          max_iters: int | None = 1000, **extra: Any) -> dict:
    fields = dict(config={"learning_rate": 1e-3, "batch_size": 4},
                  model={"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 32,
                         "vocab_size": 65, "bias": False, "n_params": 12345},
                  tokens_per_iter=tokens_per_iter, max_iters=max_iters, device="cpu",
                  device_name=None, dtype="float32", world_size=1, peak_flops=None,
                  peak_flops_source="unknown", torch_version="2.13.0", source="gptscope")
    fields.update(extra)
    return make_event("run_start", run_id, 0, time, **fields)


def it(run_id: str, step: int, loss: float, time: float | None = None, dt_ms: float = 100.0,
       eval_inclusive: bool = False, **extra: Any) -> dict:
    fields = dict(loss=loss, lr=1e-3, grad_norm=1.0, dt_ms=dt_ms, step_ms=dt_ms,
                  eval_inclusive=eval_inclusive, tokens_per_s=10240.0, mfu=0.25,
                  mfu_smoothed=0.25)
    fields.update(extra)
    return make_event("iter", run_id, step, T0 + 0.1 * step if time is None else time,
                      **fields)


def ev(run_id: str, step: int, train: float, val: float) -> dict:
    return make_event("eval", run_id, step, T0 + 0.1 * step, train_loss=train, val_loss=val,
                      eval_ms=50.0, best_val_loss=val)


def anomaly(run_id: str, step: int) -> dict:
    return make_event("anomaly", run_id, step, T0 + 0.1 * step, kind="nonfinite_loss",
                      value="nan", action="continue")


def end(run_id: str, step: int, status: str = "completed") -> dict:
    return make_event("run_end", run_id, step, T0 + 0.1 * step + 1, status=status,
                      error=None, steps=step, wall_s=0.1 * step + 1)


def events(run_id: str, n: int, nan_at: int | None = None, ended: bool = False) -> list[dict]:
    """A small healthy run: loss falling from ~4, an eval every 50 steps."""
    out = [start(run_id)]
    for s in range(n):
        if s % 50 == 0:
            out.append(ev(run_id, s, 4.0 - s / n, 4.1 - s / n))
        loss = math.nan if s == nan_at else 4.0 - 2.0 * s / n
        out.append(it(run_id, s, loss, dt_ms=400.0 if s % 50 == 0 else 100.0,
                      eval_inclusive=s % 50 == 0))
        if s == nan_at:
            out.append(anomaly(run_id, s))
    if ended:
        out.append(end(run_id, n - 1))
    return out


def write(path: Path, evs: list[dict], mode: str = "w") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode) as f:
        for e in evs:
            f.write(dumps(e) + "\n")
    return path
