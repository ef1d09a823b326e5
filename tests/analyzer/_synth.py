"""Small synthetic runs for the diagnostics tests, built from schema events."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from analyzer.run import Run
from gptscope.schema import make_event


def start(step: int | None = 0, **meta: Any) -> dict[str, Any]:
    fields = dict(config=meta.pop("config", {}), model=meta.pop("model", {}), device="cuda",
                  dtype="bfloat16", world_size=1, peak_flops_source="unknown",
                  source="gptscope")
    fields.update(meta)
    return make_event("run_start", "r", step, 0.0, **fields)


def it(step: int, loss: float | None = 2.0, dt_ms: float | None = 20.0, **fields: Any
       ) -> dict[str, Any]:
    return make_event("iter", "r", step, float(step), loss=loss, dt_ms=dt_ms, **fields)


def ev(step: int, train: float | None, val: float | None, **fields: Any) -> dict[str, Any]:
    return make_event("eval", "r", step, float(step), train_loss=train, val_loss=val, **fields)


def iters(steps: Iterable[int], losses: Sequence[float] | float = 2.0,
          dts: Sequence[float] | float = 20.0, **columns: Sequence[Any] | Any
          ) -> list[dict[str, Any]]:
    """One iter event per step; scalars are broadcast, sequences indexed like steps."""
    steps = list(steps)

    def at(value: Any, i: int) -> Any:
        return value[i] if isinstance(value, (list, tuple)) or hasattr(value, "__array__") \
            else value

    return [it(s, loss=at(losses, i), dt_ms=at(dts, i),
               **{k: at(v, i) for k, v in columns.items()}) for i, s in enumerate(steps)]


def run(*groups: Iterable[dict[str, Any]] | dict[str, Any], meta: dict | None = None,
        format: str = "gptscope") -> Run:
    """A Run from a run_start (with ``meta`` fields) followed by the given events."""
    events: list[dict[str, Any]] = [start(**(meta or {}))]
    for g in groups:
        events.extend([g] if isinstance(g, dict) else g)
    return Run.from_events(events, format=format)


def codes(findings: Iterable[Any]) -> list[str]:
    return [f.code for f in findings]
