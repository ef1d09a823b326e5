"""A run's header as the stdout parsers collect it (it becomes the segment's ``run_start``
event), and the small conversions its values need."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "vocab_size", "bias", "n_params")
DEVICES = ("cpu", "cuda", "mps")


@dataclass
class Header:
    """What a run's header lines said; becomes the segment's run_start event."""
    config: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(MODEL_KEYS))
    tokens_per_iter: int | None = None
    max_iters: int | None = None
    device: str | None = None
    device_name: str | None = None
    dtype: str | None = None
    world_size: int | None = None
    peak_flops: float | None = None
    peak_flops_source: str = "unknown"
    torch_version: str | None = None


def jsonable(value: Any) -> Any:
    """Header values as JSON data (events are JSON): a log's config may say ``1e999`` or
    ``{(1, 2): 3}``; non-finite floats become null as everywhere in the schema."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int)):
        return value
    return str(value)


def device_type(value: Any) -> str | None:
    """'cuda:0' -> 'cuda'; None for anything that is not cpu/cuda/mps."""
    text = str(value).strip().lower().split(":")[0] if value is not None else ""
    return text if text in DEVICES else None
