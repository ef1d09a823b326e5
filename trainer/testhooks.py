"""Fault injection for tests of multi-process behaviour that a CPU cannot produce by itself
(a slow GPU, an fp16 overflow on one rank). Off unless the environment sets

    GPTSCOPE_TEST_HOOKS="slow_rank=1:0.05,nan_loss_rank=1:4"

slow_rank=R:S      rank R sleeps S seconds inside each training step's own work (a straggler)
nan_loss_rank=R:N  from iteration N on, rank R's reported loss is NaN while its gradients stay
                   finite: what an fp16 overflow in the loss looks like under a GradScaler

torchrun starts the ranks as separate processes, so an environment variable is the one way
a test reaches all of them. Nothing reads this in normal runs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

ENV = "GPTSCOPE_TEST_HOOKS"


@dataclass(frozen=True)
class Hooks:
    slow_rank: int = -1
    slow_s: float = 0.0
    nan_loss_rank: int = -1
    nan_loss_from: int = 0


def from_env() -> Hooks:
    """The hooks the environment asks for (none when unset). A malformed value raises
    ValueError naming the variable: a test that set it wrongly must not pass silently."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return Hooks()
    values: dict[str, float | int] = {}
    try:
        for item in text.split(","):
            key, arg = item.split("=", 1)
            rank, amount = arg.split(":", 1)
            if key.strip() == "slow_rank":
                values.update(slow_rank=int(rank), slow_s=float(amount))
            elif key.strip() == "nan_loss_rank":
                values.update(nan_loss_rank=int(rank), nan_loss_from=int(amount))
            else:
                raise ValueError(f"unknown hook {key!r}")
    except ValueError as e:
        raise ValueError(f"{ENV}={text!r}: {e}") from None
    return Hooks(**values)  # type: ignore[arg-type]
