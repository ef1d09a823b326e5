"""Process topology and the few collectives the trainer needs (torch.distributed).

One process unless torchrun sets RANK / LOCAL_RANK / WORLD_SIZE; then DistributedDataParallel
with NCCL on GPUs and Gloo on CPU. Everything that must happen once (events, stdout,
checkpoint files) asks ``is_main``. Every helper here is a no-op in a single process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def from_env() -> DistInfo:
    """The topology torchrun describes in the environment (a single process without it)."""
    if "RANK" not in os.environ:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0)),
                    int(os.environ.get("WORLD_SIZE", 1)))


def init(info: DistInfo, device: torch.device) -> None:
    if info.enabled and not tdist.is_initialized():
        tdist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def destroy(info: DistInfo, sync: bool = False) -> None:
    """Tear the process group down. ``sync`` (a run that ended normally on every rank) waits
    for all ranks first: a rank that destroys its group while another still finishes its last
    collective or checkpoint can abort at exit under Gloo ('terminate called without an active
    exception', seen once in five suite runs). Never on an error path, where a rank that
    failed alone would leave the others waiting in the barrier."""
    if info.enabled and tdist.is_initialized():
        if sync:
            tdist.barrier()
        tdist.destroy_process_group()


def any_flag(info: DistInfo, value: int, device: torch.device) -> int:
    """The largest of every rank's value: all ranks stop at the same iteration when any of
    them got a signal (a rank that stopped alone would leave the others waiting forever)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], device=device)
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return int(t.item())


def mean(info: DistInfo, values: list[float], device: torch.device) -> list[float]:
    """Element-wise mean over ranks (eval losses: every rank then takes the same decisions)."""
    if not info.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64 if device.type == "cpu" else torch.float32,
                     device=device)
    tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
    return (t / info.world_size).tolist()


def mean_tensor(info: DistInfo, t: torch.Tensor) -> torch.Tensor:
    """Element-wise mean over ranks of a tensor on the device (no host sync of its own). A
    non-finite value on any rank makes the result non-finite on every rank."""
    if not info.enabled:
        return t
    t = t.clone()
    tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
    return t / info.world_size


def gather(info: DistInfo, values: list[float], device: torch.device) -> list[list[float]]:
    """Every rank's values, in rank order (per-rank step times at log iterations)."""
    if not info.enabled:
        return [values]
    t = torch.tensor(values, dtype=torch.float32, device=device)
    out = [torch.empty_like(t) for _ in range(info.world_size)]
    tdist.all_gather(out, t)
    return [o.tolist() for o in out]


def gather_objects(info: DistInfo, obj: Any) -> list[Any]:
    """Every rank's picklable object (RNG states for a checkpoint), in rank order."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    tdist.all_gather_object(out, obj)
    return out


def broadcast_object(info: DistInfo, obj: Any) -> Any:
    """Rank 0's object on every rank (the run directory's name)."""
    if not info.enabled:
        return obj
    box = [obj]
    tdist.broadcast_object_list(box, src=0)
    return box[0]
