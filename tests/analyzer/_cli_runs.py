"""Run files (our events.jsonl) written into tmp_path for the CLI and report tests."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from gptscope.schema import dumps, make_event


def start(run_id: str = "r", **kw: Any) -> dict[str, Any]:
    fields = dict(config={}, model={"n_params": 10e6}, device="cuda", dtype="bfloat16",
                  world_size=1, peak_flops_source="unknown", source="gptscope")
    fields.update(kw)
    return make_event("run_start", run_id, 0, 0.0, **fields)


def overfit_events(n: int = 1000, run_id: str = "r", val_offset: float = 0.0,
                   end: dict | None = None) -> list[dict[str, Any]]:
    """Eval every 100 steps (eval-inclusive dt 520 ms vs 20 ms); val best at 500, then up."""
    evs = [start(run_id)]
    for s in range(n):
        if s % 100 == 0:
            val = (2.0 - s / 1000 if s <= 500 else 1.5 + (s - 500) / 1000) + val_offset
            evs.append(make_event("eval", run_id, s, float(s), train_loss=2.0 - s / 900,
                                  val_loss=val))
        evs.append(make_event("iter", run_id, s, float(s), loss=2.0 - s / 1000,
                              dt_ms=520.0 if s % 100 == 0 else 20.0,
                              eval_inclusive=s % 100 == 0, mfu=0.3, lr=1e-3))
    if end is not None:
        evs.append(make_event("run_end", run_id, n - 1, float(n), **end))
    return evs


def healthy_events(n: int = 300, run_id: str = "h") -> list[dict[str, Any]]:
    evs = [start(run_id)]
    for s in range(n):
        if s % 100 == 0:
            evs.append(make_event("eval", run_id, s, float(s), train_loss=3 - s / 200,
                                  val_loss=3.05 - s / 200))
        evs.append(make_event("iter", run_id, s, float(s), loss=3 - s / 200, dt_ms=20.0,
                              mfu=0.3, lr=1e-3))
    evs.append(make_event("run_end", run_id, n - 1, float(n), status="completed", steps=n,
                          wall_s=6.0))
    return evs


def write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(dumps(e) + "\n" for e in events), encoding="utf-8")
    return path
