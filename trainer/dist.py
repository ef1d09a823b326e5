"""Process topology. One process today; torchrun sets RANK / LOCAL_RANK / WORLD_SIZE, and
everything that must happen once (events, stdout, checkpoints) asks ``is_main``."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> DistInfo:
    """The topology torchrun describes in the environment (a single process without it)."""
    if "RANK" not in os.environ:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0)),
                    int(os.environ.get("WORLD_SIZE", 1)))
