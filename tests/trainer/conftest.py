"""Fixtures for trainer tests: a tiny configuration that trains in a second or two on CPU."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import tiny_config
from trainer.config import Config


@pytest.fixture
def tiny(tmp_path: Path) -> Config:
    """2 layers, 16 wide, char-level Tiny Shakespeare, CPU (1 thread), under tmp_path."""
    return tiny_config(tmp_path / "logs", max_iters=30, lr_decay_iters=30, eval_interval=10,
                       eval_iters=2, learning_rate=1e-2, min_lr=1e-3)


def read_events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
